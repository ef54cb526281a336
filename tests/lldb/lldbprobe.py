# Imported into lldb's embedded Python by the lldb tests ("command script
# import"): runs one command through the command interpreter, the way lldb
# runs a typed command, and prints its output, error text and return status
# as one JSON line between markers.  lldb -b would end the batch at the first
# failed command; this lets a test see the failure and go on in the same
# session.  It only runs lldb commands, never expressions in the target.

import json

import lldb


def run(label, cmd):
    ci = lldb.debugger.GetCommandInterpreter()
    res = lldb.SBCommandReturnObject()
    ci.HandleCommand(cmd, res)
    doc = {"ok": bool(res.Succeeded()), "status": int(res.GetStatus()),
           "failed": res.GetStatus() == lldb.eReturnStatusFailed,
           "out": res.GetOutput() or "", "err": res.GetError() or ""}
    print("@@BEGIN %s\n%s\n@@END %s" % (label, json.dumps(doc), label), flush=True)
