"""Unit tests of sw/reggen: a bad description is refused with a clear message (exit 2),
a good one generates consistent outputs, and drift is detected (exit 1)."""
import contextlib
import io
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import reggen

GOOD = """
[block]
name = "kvcpu"
bar = 0
addr_width = 8
data_width = 32
version = { major = 1, minor = 2, patch = 3 }

[[reg]]
name = "A"
offset = 0x0
access = "rw"
reset = 5
desc = "a"
fields = [ { name = "X", lsb = 0, width = 4, desc = "x" } ]

[[reg]]
name = "B"
offset = 0x4
access = "ro"
value = "version"
desc = "b"
"""


class _GenCase(unittest.TestCase):
    """Runs reggen on a description in a scratch repository root."""

    def setUp(self):
        self.dir = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.dir)

    def run_gen(self, text, *extra):
        (self.dir / "r.toml").write_text(text)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = reggen.main(["--src", "r.toml", "--root", str(self.dir), *extra])
        return rc, err.getvalue()

    def assert_refused(self, text, needle):
        rc, err = self.run_gen(text)
        self.assertEqual(rc, 2, err)
        self.assertIn(needle, err)


class ReggenTest(_GenCase):
    def test_good_generates_all_outputs(self):
        rc, err = self.run_gen(GOOD)
        self.assertEqual(rc, 0, err)
        hdr = (self.dir / "driver/include/kvcpu/regs.h").read_text()
        self.assertIn("inline constexpr uint32_t kA = 0x000u;", hdr)
        self.assertIn("inline constexpr uint32_t kBValue = 0x01020003u;", hdr)
        self.assertIn("inline constexpr uint32_t kAReset = 0x00000005u;", hdr)
        pkg = (self.dir / "rtl/regs/kvcpu_reg_pkg.sv").read_text()
        self.assertIn("localparam logic [7:0] ADDR_B = 8'h4;", pkg)
        self.assertIn("localparam logic [31:0] A_MASK = 32'h0000000F;", pkg)
        md = (self.dir / "docs/registers.md").read_text()
        self.assertIn("| 0x004 | [B](#b) | ro | 0x01020003 |", md)

    def test_check_detects_drift_and_accepts_fresh(self):
        self.assertEqual(self.run_gen(GOOD)[0], 0)
        self.assertEqual(self.run_gen(GOOD, "--check")[0], 0)
        md = self.dir / "docs/registers.md"
        md.write_text(md.read_text() + "hand edit\n")
        rc, err = self.run_gen(GOOD, "--check")
        self.assertEqual(rc, 1)
        self.assertIn("docs/registers.md differs", err)

    def test_refusals(self):
        cases = [
            (GOOD.replace("offset = 0x4", "offset = 0x0"), "already used by A"),
            (GOOD.replace("offset = 0x4", "offset = 0x6"), "not 4-byte aligned"),
            (GOOD.replace("offset = 0x4", "offset = 0x100"), "outside the 8-bit BAR"),
            (GOOD.replace('access = "rw"', 'access = "rx"'), "is not one of"),
            (GOOD.replace("reset = 5\n", ""), "need a 'reset' value"),
            (GOOD.replace("reset = 5", "reset = 0x10"), "sets bits outside the fields"),
            (GOOD.replace("width = 4", "width = 40"), "do not fit in 32 bits"),
            (GOOD.replace('name = "B"', 'name = "A"'), "duplicate register name"),
            (GOOD.replace('name = "B"', 'name = "b"'), "UPPER_CASE"),
            (GOOD.replace('desc = "b"', 'desc = "b"\nreset = 1'), "only meaningful"),
            (GOOD + '\n[[reg]]\nname = "C"\noffset = 8\naccess = "rw"\nreset = 0\nvalue = 1\ndesc = "c"\n',
             "only allowed on ro"),
            (GOOD.replace("data_width = 32", "data_width = 64"), "data_width = 32"),
            ("[block\n", "cannot read description"),
            (GOOD.replace("fields = [ { name = \"X\", lsb = 0, width = 4, desc = \"x\" } ]",
                          "fields = [ { name = \"X\", lsb = 0, width = 4 }, { name = \"Y\", lsb = 3, width = 2 } ]"),
             "overlaps another field"),
        ]
        for text, needle in cases:
            with self.subTest(needle=needle):
                self.assert_refused(text, needle)


# GOOD plus three arrays: rw at 0x20 + 8*i (interleaved with a wo array at 0x24 + 8*i) and
# an ro array at 0x40 + 4*i.
ARRAYS = GOOD + """
[[reg]]
name = "Q_CFG"
offset = 0x20
count = 4
stride = 8
access = "rw"
reset = 1
desc = "q"
fields = [ { name = "EN", lsb = 0, width = 1, desc = "e" } ]

[[reg]]
name = "DB"
offset = 0x24
count = 4
stride = 8
access = "wo"
desc = "d"

[[reg]]
name = "CNT"
offset = 0x40
count = 3
stride = 4
access = "ro"
desc = "c"
"""


class ReggenArrayTest(_GenCase):
    def test_good_array_outputs(self):
        rc, err = self.run_gen(ARRAYS)
        self.assertEqual(rc, 0, err)
        pkg = (self.dir / "rtl/regs/kvcpu_reg_pkg.sv").read_text()
        self.assertIn("localparam logic [7:0] ADDR_Q_CFG = 8'h20;", pkg)
        self.assertIn("localparam logic [7:0] STRIDE_Q_CFG = 8'h8;", pkg)
        self.assertIn("localparam int unsigned COUNT_Q_CFG = 4;", pkg)
        self.assertIn("localparam int unsigned Q_CFG_EN_LSB = 0;", pkg)
        self.assertIn("localparam int unsigned NUM_REGS = 13;", pkg)  # 2 + 4 + 4 + 3 instances
        self.assertNotIn("STRIDE_A", pkg)  # plain registers stay plain
        top = (self.dir / "rtl/regs/kvcpu_reg_top.sv").read_text()
        self.assertIn("output logic [127:0]          q_cfg_q_o,", top)
        self.assertIn("output logic [3:0]            db_we_o,", top)
        self.assertIn("input  logic [95:0]           cnt_i", top)
        self.assertIn("output logic [31:0]           a_q_o,", top)
        # every instance decoded at its exact offset, write and read side
        self.assertIn("kvcpu_reg_pkg::ADDR_Q_CFG + 8'h18: w_sel_q_cfg[3] = 1'b1;", top)
        self.assertIn("kvcpu_reg_pkg::ADDR_DB + 8'h8: w_sel_db[1] = 1'b1;", top)
        self.assertIn("kvcpu_reg_pkg::ADDR_CNT + 8'h8: w_ro = 1'b1;", top)
        self.assertIn("kvcpu_reg_pkg::ADDR_Q_CFG + 8'h10: r_data = q_cfg_q[95:64];", top)
        self.assertIn("kvcpu_reg_pkg::ADDR_CNT + 8'h4: r_data = cnt_i[63:32] & kvcpu_reg_pkg::CNT_MASK;", top)
        self.assertIn("kvcpu_reg_pkg::ADDR_DB + 8'h18: r_data = 32'h0;", top)
        hdr = (self.dir / "driver/include/kvcpu/regs.h").read_text()
        self.assertIn("inline constexpr uint32_t kQCfg = 0x020u;", hdr)
        self.assertIn("inline constexpr uint32_t kQCfgStride = 0x008u;", hdr)
        self.assertIn("inline constexpr unsigned kQCfgInstances = 4u;", hdr)
        self.assertIn("constexpr uint32_t kQCfgAt(unsigned i) { return kQCfg + i * kQCfgStride; }", hdr)
        self.assertIn("inline constexpr uint32_t kQCfgReset = 0x00000001u;", hdr)
        # the table lists every instance, by offset: Q_CFG[i] and DB[i] interleave
        names = re.findall(r'^    \{"([A-Z_0-9\[\]]+)", 0x([0-9A-F]+)u', hdr, re.M)
        self.assertEqual(names, [("A", "000"), ("B", "004"),
                                 ("Q_CFG[0]", "020"), ("DB[0]", "024"), ("Q_CFG[1]", "028"), ("DB[1]", "02C"),
                                 ("Q_CFG[2]", "030"), ("DB[2]", "034"), ("Q_CFG[3]", "038"), ("DB[3]", "03C"),
                                 ("CNT[0]", "040"), ("CNT[1]", "044"), ("CNT[2]", "048")])
        md = (self.dir / "docs/registers.md").read_text()
        self.assertIn("| 0x020 + 0x8·i, i = 0..3 | [Q_CFG[i]](#q_cfg) | rw | 0x00000001 |", md)
        self.assertIn("| 0x040 + 0x4·i, i = 0..2 | [CNT[i]](#cnt) | ro | — |", md)
        self.assertIn("| 0x000 | [A](#a) | rw |", md)

    @unittest.skipUnless(shutil.which("c++"), "no C++ compiler")
    def test_array_header_compiles_and_finds_instances(self):
        self.assertEqual(self.run_gen(ARRAYS)[0], 0)
        (self.dir / "t.cc").write_text(
            '#include "kvcpu/regs.h"\n'
            "namespace r = kvcpu::regs;\n"
            'static_assert(r::find("Q_CFG[3]") != nullptr && r::find("Q_CFG[3]")->offset == 0x38);\n'
            'static_assert(r::find("Q_CFG[4]") == nullptr && r::find("Q_CFG") == nullptr);\n'
            'static_assert(r::find("A") != nullptr && r::find("A")->offset == 0);\n'
            "static_assert(r::find(0x3Cu) != nullptr && r::find(0x3Cu)->name == \"DB[3]\");\n"
            "static_assert(r::find(0x4Cu) == nullptr);\n"
            "static_assert(r::kDbAt(2) == 0x34 && r::kCntAt(r::kCntInstances - 1) == 0x48);\n"
            "static_assert(r::find(r::kQCfgAt(1))->reset == r::kQCfgReset);\n"
            "static_assert(sizeof(r::kRegisters) / sizeof(r::kRegisters[0]) == 13);\n"
            "int main() { return 0; }\n")
        res = subprocess.run(["c++", "-std=c++20", "-fsyntax-only", "-I", str(self.dir / "driver/include"),
                              str(self.dir / "t.cc")], capture_output=True, text=True)
        self.assertEqual(res.returncode, 0, res.stderr)

    @unittest.skipUnless(shutil.which("verilator"), "no verilator")
    def test_array_reg_top_lints(self):
        self.assertEqual(self.run_gen(ARRAYS)[0], 0)
        res = subprocess.run(["verilator", "--lint-only", "-Wall", "-Wno-UNUSEDPARAM",
                              str(self.dir / "rtl/regs/kvcpu_reg_pkg.sv"), str(self.dir / "rtl/regs/kvcpu_reg_top.sv"),
                              "--top-module", "kvcpu_reg_top"], capture_output=True, text=True)
        self.assertEqual(res.returncode, 0, res.stderr)

    def test_count_one_is_a_plain_register(self):
        rc, err = self.run_gen(GOOD.replace('name = "B"', 'name = "B"\ncount = 1'))
        self.assertEqual(rc, 0, err)
        hdr = (self.dir / "driver/include/kvcpu/regs.h").read_text()
        self.assertIn('{"B", 0x004u', hdr)
        self.assertNotIn("kBStride", hdr)

    def test_array_refusals(self):
        cases = [
            (ARRAYS.replace("count = 4\nstride = 8\naccess = \"rw\"", "count = 4\naccess = \"rw\""),
             "needs a 'stride'"),
            (ARRAYS.replace("stride = 8\naccess = \"rw\"", "stride = 6\naccess = \"rw\""),
             "must be a multiple of 4"),
            (ARRAYS.replace("stride = 8\naccess = \"rw\"", "stride = 0\naccess = \"rw\""),
             "must be a multiple of 4"),
            (ARRAYS.replace("count = 4\nstride = 8\naccess = \"rw\"", "count = 0\nstride = 8\naccess = \"rw\""),
             "count must be >= 1"),
            # instance 3 of Q_CFG (0x38 + 8 = 0x40) would land on CNT[0] if it had 5 instances
            (ARRAYS.replace("count = 4\nstride = 8\naccess = \"rw\"", "count = 5\nstride = 8\naccess = \"rw\""),
             "offset 0x40 of CNT[0] already used by Q_CFG[4]"),
            # an array whose instances straddle a plain register: B at 0x4
            (GOOD + '\n[[reg]]\nname = "C"\noffset = 0x0\ncount = 2\nstride = 4\naccess = "wo"\ndesc = "c"\n',
             "offset 0x0 of C[0] already used by A"),
            (GOOD + '\n[[reg]]\nname = "C"\noffset = 0x8\ncount = 2\nstride = 0x200\naccess = "wo"\ndesc = "c"\n',
             "outside the 8-bit BAR"),
            (GOOD.replace('value = "version"', 'value = "version"\ncount = 2\nstride = 4'),
             "constant ro register ('value') cannot be an array"),
        ]
        for text, needle in cases:
            with self.subTest(needle=needle):
                self.assert_refused(text, needle)


if __name__ == "__main__":
    unittest.main()
