/* py-async-graph for lldb: a thread's native frames for --native (issue 14),
 * from lldb's own unwinder (SBThread/SBFrame).  See native.cpp.
 *
 * Why a header with a template: the accessor's context is the plugin's
 * per-command Target, which plugin.cpp keeps private; Target derives from
 * pag_lldb_native_state, and pag_lldb_native_cb<Target> converts the context
 * back with the real type, so plugin.cpp needs only one line to wire it. */
#ifndef PAG_LLDB_NATIVE_H
#define PAG_LLDB_NATIVE_H

#include <deque>
#include <string>

#include <lldb/API/LLDB.h>

#include "pag/target.h"

// What the accessor needs of a command: the process, and the strings of the
// last call (a deque: appending never moves the ones handed out before).
struct pag_lldb_native_state {
    lldb::SBProcess process;
    std::deque<std::string> native_strings;
};

pag_err_t pag_lldb_native_frames(pag_lldb_native_state &st, uint64_t tid, pag_native_frame_t *out,
                                 size_t max, size_t *n) noexcept;

// The native_frames accessor for a context of type T (a pag_lldb_native_state).
template <class T>
pag_err_t pag_lldb_native_cb(void *ctx, uint64_t tid, pag_native_frame_t *out, size_t max,
                             size_t *n) noexcept
{
    return pag_lldb_native_frames(*static_cast<T *>(ctx), tid, out, max, n);
}

#endif
