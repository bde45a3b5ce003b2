//! A model test of merged package imports: random `import` statements in a
//! few namespaces, interleaved with first uses, run against the importer
//! with the fake runtime and against a trivially correct model.

mod imports_fake;

use std::collections::{BTreeSet, HashMap};

use imports_fake::{Fake, Value};
use lazy_bind::imports::ImportSpec;
use lazy_bind::{Handle, Site};
use proptest::prelude::*;

const MODULES: [&str; 6] = ["a", "a.b", "a.c", "a.b.d", "e", "e.f"];
const NAMESPACES: usize = 3;

#[derive(Clone, Debug)]
enum Op {
    /// `import MODULES[target]` in namespace `ns`.
    Import { ns: usize, target: usize },
    /// First use of the top package `a` (`false`) or `e` (`true`) in `ns`.
    Use { ns: usize, e: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..NAMESPACES, 0..MODULES.len()).prop_map(|(ns, target)| Op::Import { ns, target }),
        (0..NAMESPACES, any::<bool>()).prop_map(|(ns, e)| Op::Use { ns, e }),
    ]
}

/// The dotted prefixes of `name`, parents first.
fn prefixes(name: &str) -> Vec<String> {
    let parts: Vec<&str> = name.split('.').collect();
    (1..=parts.len()).map(|n| parts[..n].join(".")).collect()
}

/// What one name of one namespace holds in the model.
#[derive(Default)]
struct Slot {
    /// Targets of the statements merged into the current placeholder; `None`
    /// once the slot holds the module.
    pending: Option<BTreeSet<&'static str>>,
    /// The handle the importer gave the current placeholder.
    handle: Option<Handle>,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn merged_imports_behave_like_the_model(ops in prop::collection::vec(op(), 1..40)) {
        let fake = Fake::new();
        for name in MODULES {
            fake.empty(name);
        }
        let (fake, importer) = fake.start();
        let namespaces: Vec<_> = (0..NAMESPACES).map(|_| fake.main()).collect();
        let mut slots: HashMap<(usize, &str), Slot> = HashMap::new();
        let mut executed: BTreeSet<String> = BTreeSet::new();

        for (line, op) in ops.into_iter().enumerate() {
            match op {
                Op::Import { ns, target } => {
                    let target = MODULES[target];
                    let top = &target[..1];
                    let spec = ImportSpec::import("__main__", target, Site::new("m.py", line as u32 + 1)).unwrap();
                    let bindings = fake.run(&namespaces[ns], &spec);
                    prop_assert_eq!(bindings.len(), 1);
                    prop_assert_eq!(&*bindings[0].name, top);
                    let slot = slots.entry((ns, top)).or_default();
                    match &mut slot.pending {
                        // Joins the placeholder still pending in this slot.
                        Some(pending) => {
                            prop_assert_eq!(slot.handle, Some(bindings[0].handle));
                            pending.insert(target);
                        }
                        // First statement, or the last one resolved: fresh.
                        None => {
                            prop_assert_ne!(slot.handle, Some(bindings[0].handle));
                            slot.pending = Some(BTreeSet::from([target]));
                            slot.handle = Some(bindings[0].handle);
                        }
                    }
                }
                Op::Use { ns, e } => {
                    let top = if e { "e" } else { "a" };
                    let Some(slot) = slots.get_mut(&(ns, top)) else { continue };
                    let value = fake.load(&namespaces[ns], top).unwrap();
                    prop_assert_eq!(value.module_name(), top);
                    if let Some(pending) = slot.pending.take() {
                        for target in pending {
                            executed.extend(prefixes(target));
                        }
                    }
                    prop_assert!(matches!(namespaces[ns].raw(top), Some(Value::Module(_))));
                }
            }
            let log = fake.executed();
            let ran: BTreeSet<String> = log.iter().cloned().collect();
            prop_assert_eq!(ran.len(), log.len(), "a body ran twice: {:?}", log);
            prop_assert_eq!(&ran, &executed);
            for (i, name) in log.iter().enumerate() {
                if let Some((parent, _)) = name.rsplit_once('.') {
                    prop_assert!(log[..i].iter().any(|n| n == parent), "{} before its parent: {:?}", name, log);
                }
            }
        }
        let pending_model = slots.values().filter(|s| s.pending.is_some()).count();
        prop_assert_eq!(importer.engine().counters().pending as usize, pending_model);
    }
}
