//! Decision cost against rule count: the same queries under a 10-rule and a
//! 10,000-rule policy, plus a naive linear scan of the 10,000 rules.
//!
//! Each iteration decides all of `QUERIES` (8 decisions).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use lazy_bind::policy::{ActivePolicy, Decision, ImportQuery, Mode, Policy, RuleKind};

#[path = "policy_workload.rs"]
mod policy_workload;

use policy_workload::{queries, rules_10000, RULES_10};

/// Naive baseline: the rules in a Vec, scanned in order on every decision,
/// with the same matching and precedence (no context flags set here, so the
/// context and scope steps are the same cheap checks in both).
struct LinearScan {
    mode: Mode,
    rules: Vec<(RuleKind, String, bool)>,
}

impl LinearScan {
    fn new(policy: &Policy) -> Self {
        LinearScan {
            mode: policy.mode(),
            rules: policy
                .rules()
                .map(|(k, p)| (k, p.name().to_owned(), p.is_prefix()))
                .collect(),
        }
    }

    fn matches(name: &str, prefix: bool, module: &str) -> bool {
        module == name
            || (prefix
                && module.len() > name.len()
                && module.starts_with(name)
                && module.as_bytes()[name.len()] == b'.')
    }

    fn decide(&self, q: &ImportQuery<'_>) -> Decision {
        if q.context.never_lazy_reason(q.target).is_some() || self.mode == Mode::None {
            return Decision::Eager;
        }
        let (mut imp_out, mut tgt_out, mut tgt_in, mut imp_in) = (false, false, false, false);
        for (kind, name, prefix) in &self.rules {
            match kind {
                RuleKind::EagerImporter => imp_out |= Self::matches(name, *prefix, q.importer),
                RuleKind::EagerTarget => tgt_out |= Self::matches(name, *prefix, q.target),
                RuleKind::LazyTarget => tgt_in |= Self::matches(name, *prefix, q.target),
                RuleKind::LazyImporter => imp_in |= Self::matches(name, *prefix, q.importer),
            }
        }
        if imp_out || tgt_out {
            Decision::Eager
        } else if tgt_in || imp_in || self.mode == Mode::All || q.context.marked_lazy {
            Decision::Defer
        } else {
            Decision::Eager
        }
    }
}

fn bench_policy(c: &mut Criterion) {
    let small = ActivePolicy::new(Policy::parse(RULES_10).unwrap());
    let big_policy = Policy::parse(&rules_10000()).unwrap();
    assert_eq!(small.policy().rules().len(), 10);
    assert_eq!(big_policy.rules().len(), 10_000);
    let linear = LinearScan::new(&big_policy);
    let big = ActivePolicy::new(big_policy);
    let qs = queries();
    // All three give the same answers, so they do the same work.
    for q in &qs {
        let d = small.decide(q);
        assert_eq!(big.decide(q), d, "{q:?}");
        assert_eq!(linear.decide(q), d, "{q:?}");
    }

    let mut group = c.benchmark_group("policy_decision");
    group.bench_function("rules_10", |b| {
        b.iter(|| {
            for q in &qs {
                black_box(small.decide(black_box(q)));
            }
        })
    });
    group.bench_function("rules_10000", |b| {
        b.iter(|| {
            for q in &qs {
                black_box(big.decide(black_box(q)));
            }
        })
    });
    group.bench_function("linear_scan_10000", |b| {
        b.iter(|| {
            for q in &qs {
                black_box(linear.decide(black_box(q)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_policy);
criterion_main!(benches);
