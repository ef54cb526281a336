"""The native unwinder (issue 14) on damaged cores, under a timeout: a gcore
core of a real blocked CPython process, then copies with every thread's
registers zeroed, with a stack pointer into unmapped memory, and with the
loop thread's stack zeroed above its innermost frames; and a .zst copy of
the core gives the records of the plain one.  Each walk must end
quickly with PAG_ERR_TRUNCATED and at most the frames the damage leaves
(never a hang, never PAG_OK from a cut stack); the whole core must give
the same records as the live process; and the bound holds: --max 3 gives
3 records and PAG_OK.

usage: native_damaged.py VERSION
"""
import os
import shutil
import struct
import subprocess
import sys

from clitest import Checker
import native_lib as nl
sys.path.insert(0, nl.os.path.join(nl.HERE, "..", "lib"))
import elfcore  # noqa: E402

PR_REG = 112  # offset of pr_reg in x86-64's struct elf_prstatus
NREG = 27
RSP, RIP = 19, 16  # user_regs_struct slots


def prstatus_regs(core):
    """File offsets of every NT_PRSTATUS note's pr_reg, with the thread id."""
    out = []
    with open(core, "rb") as f:
        hdr = f.read(64)
        phoff, = struct.unpack_from("<Q", hdr, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", hdr, 0x36)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
        for i in range(phnum):
            p_type, _fl, off, _va, _pa, filesz, _m, _a = struct.unpack_from("<IIQQQQQQ", ph,
                                                                           i * phentsize)
            if p_type != 4:
                continue
            f.seek(off)
            data = f.read(filesz)
            pos = 0
            while pos + 12 <= len(data):
                namesz, descsz, typ = struct.unpack_from("<III", data, pos)
                desc = pos + 12 + ((namesz + 3) & ~3)
                if typ == 1 and descsz >= PR_REG + NREG * 8:
                    tid, = struct.unpack_from("<i", data, desc + 32)
                    out.append((tid, off + desc + PR_REG))
                pos = desc + ((descsz + 3) & ~3)
    return out


def patch(src, dst, edits):
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as f:
        for off, data in edits:
            f.seek(off)
            f.write(data)


def main():
    version = sys.argv[1]
    c = Checker("native damaged %s" % version)
    with nl.Target(version, "lock") as t:
        t.stop()
        rc, live, err, _ = nl.ours([t.pid])
        # threads that are not in a ptrace-stop (the target let go first):
        # no walk, and no abort in elfutils on the next thread
        rc2, gone, err2, dt = nl.ours([t.pid, "--after-release", "--repeat", "2"])
        c.check(rc2 == 0 and sorted(gone) == sorted(live) and
                all(st == "TRUNCATED" and not fr for st, _, fr in gone.values()),
                "threads not stopped: every walk TRUNCATED with no frames, exit %s" % rc2,
                err2 + str({k: v[0] for k, v in gone.items()}))
        core = t.gcore()
        t.keep = True  # the core is damaged below, after the process is gone
    try:
        damage(c, t, live, core)
    finally:
        shutil.rmtree(t.dir, ignore_errors=True)
    c.finish()


def damage(c, t, live, core):
    tids = sorted(live)
    rc, whole, err, dt = nl.ours(["--core", core] + tids)
    c.check(rc == 0 and whole[t.loop_tid][2] == live[t.loop_tid][2],
            "the undamaged core gives the live records of the loop thread", err)
    # a compressed core is unpacked to a temporary file first (core_stream.c)
    packed = core + ".zst"
    with open(packed, "wb") as out:
        subprocess.run(["zstd", "-q", "-c", "-3", core], stdout=out, check=True)
    rc, unpacked, err, dt = nl.ours(["--core", packed] + tids)
    same = {k: (v[0], v[2]) for k, v in unpacked.items()} == {k: (v[0], v[2])
                                                            for k, v in whole.items()}
    c.check(rc == 0 and same, "the .zst core gives the same records (exit %s)" % rc, err)
    os.unlink(packed)
    rc, bound, err, _ = nl.ours(["--core", core, "--max", "3", t.loop_tid])
    st, _, fr = bound.get(t.loop_tid, (None, [], []))
    c.check(st == "OK" and len(fr) == 3, "--max 3: 3 records and OK (got %s, %d)" % (st, len(fr)))
    regs = prstatus_regs(core)
    c.check(sorted(tid for tid, _ in regs) == tids, "the core has a NT_PRSTATUS per thread",
            str(regs))
    loop_regs = dict(regs)[t.loop_tid]
    with open(core, "rb") as f:
        f.seek(loop_regs)
        r = list(struct.unpack("<%dQ" % NREG, f.read(NREG * 8)))
    sp = r[RSP]
    segs = elfcore.load_segments(core)
    stack_off = elfcore.file_offset(segs, sp, 0x40)
    seg = next(s for s in segs if s[0] <= sp < s[0] + s[2])
    cut_from = sp + 0x40
    cut_len = seg[0] + seg[2] - cut_from
    bad_sp = r[:]
    bad_sp[RSP] = 0xdead0000000
    cases = {
        "zeroed registers": [(off, bytes(NREG * 8)) for _, off in regs],
        "sp in unmapped memory": [(loop_regs, struct.pack("<%dQ" % NREG, *bad_sp))],
        "stack zeroed above sp+0x40": [(stack_off + 0x40, bytes(cut_len))],
    }
    for name, edits in cases.items():
        dst = core + ".damaged"
        patch(core, dst, edits)
        rc, res, err, dt = nl.ours(["--core", dst] + tids, timeout=60)
        c.check(rc == 0 and dt < 30, "%s: test_native_accessor ends (exit %s) in %.1fs" % (name, rc, dt), err)
        st, _, frames = res.get(t.loop_tid, (None, [], []))
        c.check(st == "TRUNCATED", "%s: the loop thread's walk is TRUNCATED, not %s" % (name, st))
        good = live[t.loop_tid][2]
        limit = {"zeroed registers": 1, "sp in unmapped memory": 1}.get(name, len(good) - 1)
        c.check(len(frames) <= limit, "%s: at most %d frame(s), got %d" % (name, limit, len(frames)))
        c.check(frames == good[:len(frames)] or name != "stack zeroed above sp+0x40",
                "%s: the frames before the cut are the live ones" % name)
        c.note("%s: %s with %d frames in %.2fs" % (name, st, len(frames), dt))


if __name__ == "__main__":
    main()
