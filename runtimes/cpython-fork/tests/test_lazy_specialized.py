"""The specialised 3.11 opcodes (LOAD_GLOBAL_MODULE, LOAD_GLOBAL_BUILTIN,
LOAD_ATTR_MODULE, LOAD_METHOD_MODULE) never hand a placeholder to user code:
a copied placeholder is put back into a slot that a hot loop has already
specialised on, every iteration."""

import unittest

from lazy_support import LazyTestCase

FILES = {
    "target.py": "VALUE = 5\ndef f():\n    return 6\n",
    # The source of raw placeholders: its namespace keeps them unresolved.
    "holder.py": "import target\nfrom target import f\n",
    "other.py": "placeholder = None\nf = None\n",
}


class SpecializedOpcodes(LazyTestCase):
    def run_loop(self, body):
        return self.run_json(FILES, """
            import builtins, dis, json, _lazy_imports
            import holder, other
            # A list keeps the raw placeholders: loading a global would resolve.
            RAW = [holder.__dict__['target'], holder.__dict__['f']]
            assert all(map(_lazy_imports.is_lazy, RAW))
            def hot():
                bad = 0
                for i in range(2000):
            %s
                return bad
            bad = hot()
            ops = sorted({i.opname for i in dis.get_instructions(hot, adaptive=True)
                          if i.opname.startswith('LOAD_')})
            print(json.dumps([bad, ops]))
            """ % "\n".join("        " + line for line in body.strip().splitlines()))

    def test_load_global_module(self):
        bad, ops = self.run_loop("""
            globals()['copied'] = RAW[0]
            value = copied
            bad += _lazy_imports.is_lazy(value) or value.VALUE != 5
            """)
        self.assertEqual(bad, 0)

    def test_load_global_builtin(self):
        bad, ops = self.run_loop("""
            builtins.shared = RAW[0]
            value = shared
            bad += _lazy_imports.is_lazy(value) or value.VALUE != 5
            """)
        self.assertEqual(bad, 0)

    def test_load_attr_module(self):
        bad, ops = self.run_loop("""
            other.__dict__['placeholder'] = RAW[0]
            value = other.placeholder
            bad += _lazy_imports.is_lazy(value) or value.VALUE != 5
            """)
        self.assertEqual(bad, 0)

    def test_load_method_module(self):
        bad, ops = self.run_loop("""
            other.__dict__['f'] = RAW[1]
            bad += other.f() != 6
            """)
        self.assertEqual(bad, 0)

    def test_placeholder_stored_over_a_specialised_slot(self):
        # Every 100 iterations a placeholder replaces the module a slot
        # holds; in between, the loads specialise on the module. The store
        # must deoptimise them (dict keys version), never hand it out.
        bad, ops = self.run_loop("""
            if i % 100 == 0:
                globals()['copied'] = RAW[0]
                builtins.shared = RAW[0]
                other.__dict__['placeholder'] = RAW[0]
            for value in (copied, shared, other.placeholder):
                bad += _lazy_imports.is_lazy(value) or value.VALUE != 5
            """)
        self.assertEqual(bad, 0)
        for op in ("LOAD_GLOBAL_MODULE", "LOAD_GLOBAL_BUILTIN", "LOAD_ATTR_MODULE"):
            self.assertIn(op, ops)

    def test_resolved_loop_stays_specialised(self):
        # Once written back, the slot holds the module: the loop runs on the
        # specialised opcodes.
        out = self.run_json(FILES, """
            import dis, json
            import target
            def hot():
                total = 0
                for i in range(2000):
                    total += target.VALUE
                return total
            total = hot()
            ops = sorted({i.opname for i in dis.get_instructions(hot, adaptive=True)
                          if i.opname.startswith('LOAD_')})
            print(json.dumps([total, ops]))
            """)
        self.assertEqual(out[0], 10000)
        self.assertIn("LOAD_GLOBAL_MODULE", out[1])
        self.assertIn("LOAD_ATTR_MODULE", out[1])


if __name__ == "__main__":
    unittest.main()
