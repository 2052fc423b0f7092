// Assertion macros: one header picks the form per tool so RTL never branches on tools
// (after OpenTitan's prim_assert.sv).
//
//   `KV_ASSERT(name, prop)          concurrent, clocked on clk_i, disabled while !rst_ni
//   `KV_ASSERT_KNOWN(name, sig)     no X/Z while out of reset
//
// Yosys defines SYNTHESIS, so synthesis never sees them. Verilator checks them when
// built with --assert (every testbench and the cosim model are).
`ifndef KVCPU_ASSERT_SVH
`define KVCPU_ASSERT_SVH

`ifdef SYNTHESIS
  `define KV_ASSERT(__name, __prop)
  `define KV_ASSERT_KNOWN(__name, __sig)
`else
  `define KV_ASSERT(__name, __prop) \
    __name: assert property (@(posedge clk_i) disable iff (!rst_ni) (__prop));
  `define KV_ASSERT_KNOWN(__name, __sig) \
    __name: assert property (@(posedge clk_i) disable iff (!rst_ni) !$isunknown(__sig));
`endif

`endif  // KVCPU_ASSERT_SVH
