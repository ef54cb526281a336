# Toolchain: macOS on Apple silicon (arm64 Mach-O), cross-built with zig.
set(PAG_ZIG_TARGET aarch64-macos)
include(${CMAKE_CURRENT_LIST_DIR}/zig-macos.cmake)
