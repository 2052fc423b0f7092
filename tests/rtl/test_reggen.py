"""Unit tests of sw/reggen: a bad description is refused with a clear message (exit 2),
a good one generates consistent outputs, and drift is detected (exit 1)."""
import contextlib
import io
import shutil
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


class ReggenTest(unittest.TestCase):
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


if __name__ == "__main__":
    unittest.main()
