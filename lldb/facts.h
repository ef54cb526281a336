/* py-async-graph for lldb: facts about the core file (facts.cpp). */
#ifndef PAG_LLDB_FACTS_H
#define PAG_LLDB_FACTS_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <lldb/API/LLDB.h>

#include "pag/target.h"

/* Where an address of the target is: its load address, or with no process
 * and nothing loaded (--info on a bare target) the module's file address. */
lldb::addr_t where(lldb::SBTarget &target, lldb::addr_t load, lldb::addr_t file);

/* Read len bytes at load address addr from the file of the module section
 * that is loaded there (lldb's own lookup of the address may fail where
 * the core lost a segment's bytes).  Returns the bytes read: len, or 0
 * (err then says why). */
size_t pag_lldb_read_section(lldb::SBTarget &target, uint64_t addr, void *dst, size_t len,
                             lldb::SBError &err);

/* The core lldb has loaded is cut short (PAG_ERR_TRUNCATED), or exe is not
 * its executable (PAG_ERR_NOT_PYTHON), with the CLI's line in msg.  PAG_OK
 * when neither, or when it cannot be told. */
pag_err_t pag_lldb_core_check(const std::string &exe, char *msg, size_t len);

/* Add to out the places of section `name` in the files the core maps
 * (its NT_FILE note) that lldb has no module for: with the core's link map
 * gone lldb 16 loads only the executable, so the _asyncio extension's
 * .AsyncioDebug table was not found ("asyncio not loaded"). */
void pag_lldb_add_unlisted(lldb::SBTarget &target, const char *name,
                           std::vector<std::pair<uint64_t, uint64_t>> &out);

#endif
