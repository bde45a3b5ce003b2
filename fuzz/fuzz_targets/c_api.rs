//! Random sequences of C ABI calls (create, resolve, peek, provide, discard,
//! slot + inline fast path, reclaim, counters, free) over two engines, with
//! stale, foreign, forged and NULL handles, checked against a model of which
//! entries are live and what each holds. Built by cargo-fuzz with
//! AddressSanitizer, so a use-after-free or a leak in the library fails too.
//!
//! Properties checked after every call:
//! - Its status is the one the model predicts (a stale or foreign handle is
//!   `LAZY_BIND_STALE_HANDLE`, never a crash); out-parameters are written
//!   only on success and error objects only on failure, with the same kind.
//! - A resolved value is the object the resolver or `create_resolved` gave,
//!   and the engine holds a reference to it; resolvers run once per attempt
//!   (never again once resolved or failed for good).
//! - The header's fast path (`word == stamp | RESOLVED`, then `value`) sees
//!   exactly the live resolved entries, through every slot taken so far.
//! - The counters match the model; `reclaim` frees exactly the discarded
//!   resolved values.
//! - After `lazy_bind_engine_free` every object the engine held is released
//!   exactly once (reference counts back to zero, never below) and every
//!   resolver's userdata is dropped exactly once.
#![no_main]

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::Ordering;

use arbitrary::Arbitrary;
use lazy_bind::Handle;
use libfuzzer_sys::fuzz_target;

mod abi {
    //! The C ABI, declared as `include/lazy_bind.h` declares it. Statuses
    //! and states are read as `u32`, so an unexpected number is a failed
    //! assertion, not undefined behaviour.
    use std::ffi::{c_char, c_void};

    use lazy_bind::Handle;

    #[repr(C)]
    pub struct Engine {
        _private: [u8; 0],
    }

    #[repr(C)]
    pub struct Error {
        _private: [u8; 0],
    }

    /// The stable prefix of `lazy_bind_slot`.
    #[repr(C)]
    pub struct Slot {
        pub word: std::sync::atomic::AtomicU64,
        pub value: *mut c_void,
    }

    pub type ValueFn = unsafe extern "C" fn(*mut c_void, *mut c_void);
    pub type HookFn = unsafe extern "C" fn(*mut c_void);
    pub type DescribeFn =
        unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_char, usize) -> usize;
    pub type ResolveFn = unsafe extern "C" fn(
        *mut c_void,
        *const Engine,
        Handle,
        *mut *mut c_void,
        *mut *mut c_void,
    ) -> u32;

    #[repr(C)]
    pub struct Hooks {
        pub size: usize,
        pub userdata: *mut c_void,
        pub retain: Option<ValueFn>,
        pub release: Option<ValueFn>,
        pub before_block: Option<HookFn>,
        pub after_wake: Option<HookFn>,
        pub describe: Option<DescribeFn>,
    }

    #[repr(C)]
    #[derive(Default, Debug, PartialEq, Eq)]
    pub struct Counters {
        pub size: usize,
        pub deferred: u64,
        pub resolved: u64,
        pub failed: u64,
        pub pending: u64,
    }

    pub const OK: u32 = 0;
    pub const NULL_ARGUMENT: u32 = 1;
    pub const INVALID_ARGUMENT: u32 = 2;
    pub const STALE_HANDLE: u32 = 3;
    pub const RESOLVER_FAILED: u32 = 4;
    pub const CYCLE: u32 = 5;
    pub const DISCARDED: u32 = 7;
    pub const STICKY_FAILURES: u32 = 1;
    pub const STATE_PENDING: u32 = 0;
    pub const STATE_RESOLVED: u32 = 2;
    pub const STATE_FAILED: u32 = 3;
    pub const SLOT_RESOLVED: u64 = 1 << 63;

    extern "C" {
        pub fn lazy_bind_engine_new(hooks: *const Hooks, flags: u32, out: *mut *mut Engine) -> u32;
        pub fn lazy_bind_engine_free(engine: *mut *mut Engine);
        pub fn lazy_bind_engine_counters(engine: *const Engine, counters: *mut Counters) -> u32;
        pub fn lazy_bind_engine_reclaim(engine: *mut Engine, freed_out: *mut usize) -> u32;
        pub fn lazy_bind_entry_create(
            engine: *const Engine,
            name: *const c_char,
            file: *const c_char,
            line: u32,
            resolve: Option<ResolveFn>,
            userdata: *mut c_void,
            drop_userdata: Option<HookFn>,
            handle_out: *mut Handle,
        ) -> u32;
        pub fn lazy_bind_entry_create_resolved(
            engine: *const Engine,
            name: *const c_char,
            file: *const c_char,
            line: u32,
            value: *mut c_void,
            handle_out: *mut Handle,
        ) -> u32;
        pub fn lazy_bind_resolve(
            engine: *const Engine,
            handle: Handle,
            access_file: *const c_char,
            access_line: u32,
            value_out: *mut *mut c_void,
            error_out: *mut *mut Error,
        ) -> u32;
        pub fn lazy_bind_peek(
            engine: *const Engine,
            handle: Handle,
            state_out: *mut u32,
            value_out: *mut *mut c_void,
            owner_out: *mut u64,
            error_out: *mut *mut Error,
        ) -> u32;
        pub fn lazy_bind_entry_provide(
            engine: *const Engine,
            handle: Handle,
            value: *mut c_void,
            taken_out: *mut bool,
        ) -> u32;
        pub fn lazy_bind_entry_discard(engine: *const Engine, handle: Handle) -> u32;
        pub fn lazy_bind_engine_slot(
            engine: *const Engine,
            handle: Handle,
            slot_out: *mut *const Slot,
        ) -> u32;
        pub fn lazy_bind_error_free(error: *mut *mut Error);
        pub fn lazy_bind_error_kind(error: *const Error) -> u32;
        pub fn lazy_bind_error_message(error: *const Error) -> *const c_char;
        pub fn lazy_bind_error_resolver_status(error: *const Error) -> u32;
    }
}

/// What a resolver does on one call.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Outcome {
    /// Returns a new object.
    Value,
    /// Fails with this status (made non-zero), optionally handing over a
    /// runtime error object whose description has `padding` extra bytes.
    Fail {
        status: u32,
        runtime_error: bool,
        padding: u16,
    },
    /// Returns `LAZY_BIND_OK` without a value (a failure).
    OkWithoutValue,
    /// Resolves its own entry first (a cycle), then returns a new object.
    ResolveSelf,
    /// Discards its own entry, then returns a new object.
    DiscardSelf,
}

/// Which handle a call gets.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Pick {
    /// One seen before (any engine; possibly stale or foreign).
    Seen(u16),
    /// Made up.
    Forged { stamp: u8, index: u16 },
    /// `{0, 0}`.
    Null,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Create {
        engine: bool,
        outcomes: Vec<Outcome>,
    },
    CreateResolved {
        engine: bool,
    },
    Resolve {
        engine: bool,
        pick: Pick,
        at_site: bool,
    },
    Peek {
        engine: bool,
        pick: Pick,
    },
    Provide {
        engine: bool,
        pick: Pick,
    },
    Discard {
        engine: bool,
        pick: Pick,
    },
    Slot {
        engine: bool,
        pick: Pick,
    },
    Reclaim {
        engine: bool,
    },
    Counters {
        engine: bool,
    },
    Free {
        engine: bool,
        flags: u32,
    },
    NullArguments {
        engine: bool,
        pick: Pick,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    flags: [u32; 2],
    ops: Vec<Op>,
}

/// A runtime object: a reference count and a description length.
struct Object {
    id: usize,
    refs: Cell<i64>,
    padding: usize,
}

/// A resolver's userdata: which resolver of the world it is.
struct ResolverData {
    id: usize,
    world: *const World,
}

/// What the model knows of one resolver.
struct ResolverModel {
    outcomes: VecDeque<Outcome>,
    calls: Cell<usize>,
    drops: Cell<usize>,
    /// The status its nested call into the engine returned, if it made one.
    nested: Cell<Option<u32>>,
    /// The last object it returned.
    returned: Cell<*mut c_void>,
}

/// Everything outside the engines: objects and resolvers, alive until every
/// engine is freed.
#[derive(Default)]
// Boxed: the engines hold pointers to objects, and resolvers hand out
// references to their models, which must not move when a `Vec` grows.
#[allow(clippy::vec_box)]
struct World {
    objects: RefCell<Vec<Box<Object>>>,
    resolvers: RefCell<Vec<Box<ResolverModel>>>,
    /// Set by `release` if a count went below zero.
    over_released: Cell<bool>,
}

impl World {
    fn object(&self, refs: i64, padding: usize) -> *mut c_void {
        let mut objects = self.objects.borrow_mut();
        let object = Box::new(Object {
            id: objects.len(),
            refs: Cell::new(refs),
            padding,
        });
        let pointer = &*object as *const Object as *mut c_void;
        objects.push(object);
        pointer
    }

    fn resolver(&self, index: usize) -> &ResolverModel {
        let resolvers = self.resolvers.borrow();
        let model: *const ResolverModel = &*resolvers[index];
        // SAFETY: resolvers are boxed and never removed while the world lives.
        unsafe { &*model }
    }
}

fn refs(object: *mut c_void) -> i64 {
    // SAFETY: every value the engine sees is an `Object` of the world, which
    // outlives the engines.
    unsafe { &*(object as *const Object) }.refs.get()
}

unsafe extern "C" fn retain(_world: *mut c_void, object: *mut c_void) {
    // SAFETY: see `refs`.
    let object = unsafe { &*(object as *const Object) };
    object.refs.set(object.refs.get() + 1);
}

unsafe extern "C" fn release(world: *mut c_void, object: *mut c_void) {
    // SAFETY: see `refs`; the userdata is the world.
    let (object, world) = unsafe { (&*(object as *const Object), &*(world as *const World)) };
    object.refs.set(object.refs.get() - 1);
    if object.refs.get() < 0 {
        world.over_released.set(true);
    }
}

fn description(object: &Object) -> String {
    format!(
        "runtime error #{} {}",
        object.id,
        "x".repeat(object.padding)
    )
}

unsafe extern "C" fn describe(
    _world: *mut c_void,
    object: *mut c_void,
    buffer: *mut c_char,
    capacity: usize,
) -> usize {
    // SAFETY: see `refs`.
    let text = description(unsafe { &*(object as *const Object) });
    if capacity > 0 {
        let n = text.len().min(capacity - 1);
        // SAFETY: the engine gives a buffer writable for `capacity` bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr().cast(), buffer, n);
            *buffer.add(n) = 0;
        }
    }
    text.len()
}

unsafe extern "C" fn drop_resolver(userdata: *mut c_void) {
    // SAFETY: made by `Box::into_raw` in `create`, dropped once by contract
    // (counted below: a second drop would be a double free, which ASan sees).
    let data = unsafe { Box::from_raw(userdata as *mut ResolverData) };
    // SAFETY: the world outlives the engines.
    let model = unsafe { &*data.world }.resolver(data.id);
    model.drops.set(model.drops.get() + 1);
}

unsafe extern "C" fn resolve(
    userdata: *mut c_void,
    engine: *const abi::Engine,
    handle: Handle,
    value_out: *mut *mut c_void,
    runtime_error_out: *mut *mut c_void,
) -> u32 {
    // SAFETY: our userdata, alive until `drop_resolver`.
    let data = unsafe { &*(userdata as *const ResolverData) };
    // SAFETY: the world outlives the engines.
    let world = unsafe { &*data.world };
    let model = world.resolver(data.id);
    let call = model.calls.get();
    model.calls.set(call + 1);
    let outcome = model.outcomes.get(call).copied().unwrap_or(Outcome::Value);
    match outcome {
        Outcome::Fail {
            status,
            runtime_error,
            padding,
        } => {
            if runtime_error {
                // SAFETY: the engine gives a writable out-parameter.
                unsafe { *runtime_error_out = world.object(1, usize::from(padding)) };
            }
            status.max(1)
        }
        Outcome::OkWithoutValue => abi::OK,
        Outcome::Value | Outcome::ResolveSelf | Outcome::DiscardSelf => {
            if matches!(outcome, Outcome::ResolveSelf) {
                let mut value = std::ptr::null_mut();
                let mut error = std::ptr::null_mut();
                // SAFETY: a live engine (it is calling us) and writable
                // out-parameters.
                let nested = unsafe {
                    abi::lazy_bind_resolve(
                        engine,
                        handle,
                        std::ptr::null(),
                        0,
                        &mut value,
                        &mut error,
                    )
                };
                // SAFETY: NULL or an error object handed to us.
                let kind = unsafe { abi::lazy_bind_error_kind(error) };
                model.nested.set(Some(if kind == nested && value.is_null() {
                    nested
                } else {
                    u32::MAX
                }));
                // SAFETY: as above.
                unsafe { abi::lazy_bind_error_free(&mut error) };
            }
            if matches!(outcome, Outcome::DiscardSelf) {
                // SAFETY: a live engine.
                model.nested.set(Some(unsafe {
                    abi::lazy_bind_entry_discard(engine, handle)
                }));
            }
            let value = world.object(1, 0);
            model.returned.set(value);
            // SAFETY: the engine gives a writable out-parameter.
            unsafe { *value_out = value };
            abi::OK
        }
    }
}

/// The model of one entry.
enum Entry {
    Pending { resolver: usize },
    Resolved(*mut c_void),
    Failed,
}

/// One engine and its model.
struct EngineUnderTest {
    raw: *mut abi::Engine,
    sticky: bool,
    entries: HashMap<(u64, u32), Entry>,
    retired: Vec<*mut c_void>,
    counters: abi::Counters,
    /// Every slot taken so far, with the handle it was taken for.
    slots: Vec<(*const abi::Slot, Handle)>,
    /// The resolvers this engine was given (their userdata it must drop).
    resolvers: Vec<usize>,
}

static NAME: &CStr = c"fuzz";

impl EngineUnderTest {
    fn new(world: &World, flags: u32) -> EngineUnderTest {
        let mut hooks = abi::Hooks {
            size: std::mem::size_of::<usize>(),
            userdata: world as *const World as *mut c_void,
            retain: Some(retain),
            release: Some(release),
            before_block: None,
            after_wake: None,
            describe: Some(describe),
        };
        let mut raw = std::ptr::null_mut();
        // SAFETY: hooks readable for their size; a writable out-parameter.
        let status = unsafe { abi::lazy_bind_engine_new(&hooks, flags, &mut raw) };
        assert_eq!(
            status,
            abi::INVALID_ARGUMENT,
            "a hooks size below version 1"
        );
        assert!(raw.is_null(), "written only on success");
        hooks.size = std::mem::size_of::<abi::Hooks>();
        // SAFETY: as above.
        let status = unsafe { abi::lazy_bind_engine_new(&hooks, flags, &mut raw) };
        if flags & !abi::STICKY_FAILURES != 0 {
            assert_eq!(status, abi::INVALID_ARGUMENT);
            assert!(raw.is_null(), "written only on success");
            return EngineUnderTest::new(world, flags & abi::STICKY_FAILURES);
        }
        assert_eq!(status, abi::OK);
        assert!(!raw.is_null());
        EngineUnderTest {
            raw,
            sticky: flags & abi::STICKY_FAILURES != 0,
            entries: HashMap::new(),
            retired: Vec::new(),
            counters: abi::Counters {
                size: std::mem::size_of::<abi::Counters>(),
                ..abi::Counters::default()
            },
            slots: Vec::new(),
            resolvers: Vec::new(),
        }
    }

    /// Frees the engine and checks that it gave everything back.
    fn free(&mut self, world: &World, owned: &[*mut c_void]) {
        // SAFETY: our engine, used by nobody else.
        unsafe { abi::lazy_bind_engine_free(&mut self.raw) };
        assert!(self.raw.is_null(), "free sets the pointer to NULL");
        for &object in owned {
            assert_eq!(
                refs(object),
                0,
                "every reference the engine held is released"
            );
        }
        for &resolver in &self.resolvers {
            assert_eq!(
                world.resolver(resolver).drops.get(),
                1,
                "userdata dropped once"
            );
        }
    }
}

struct Fuzz<'w> {
    world: &'w World,
    engines: [EngineUnderTest; 2],
    /// Objects each engine was given or made, checked when it is freed.
    owned: [Vec<*mut c_void>; 2],
    seen: Vec<Handle>,
}

/// The engine's buffer for a runtime error's description, NUL included.
const DESCRIPTION_CAPACITY: usize = 512;

impl Fuzz<'_> {
    fn handle(&self, pick: Pick) -> Handle {
        match pick {
            Pick::Seen(i) if !self.seen.is_empty() => self.seen[usize::from(i) % self.seen.len()],
            Pick::Seen(_) | Pick::Null => Handle::NULL,
            Pick::Forged { stamp, index } => Handle {
                stamp: u64::from(stamp),
                index: u32::from(index),
            },
        }
    }

    fn run(&mut self, op: Op) {
        match op {
            Op::Create { engine, outcomes } => self.create(usize::from(engine), outcomes),
            Op::CreateResolved { engine } => self.create_resolved(usize::from(engine)),
            Op::Resolve {
                engine,
                pick,
                at_site,
            } => self.resolve(usize::from(engine), self.handle(pick), at_site),
            Op::Peek { engine, pick } => self.peek(usize::from(engine), self.handle(pick)),
            Op::Provide { engine, pick } => self.provide(usize::from(engine), self.handle(pick)),
            Op::Discard { engine, pick } => self.discard(usize::from(engine), self.handle(pick)),
            Op::Slot { engine, pick } => self.slot(usize::from(engine), self.handle(pick)),
            Op::Reclaim { engine } => self.reclaim(usize::from(engine)),
            Op::Counters { engine } => self.counters(usize::from(engine)),
            Op::Free { engine, flags } => {
                let e = usize::from(engine);
                self.engines[e].free(self.world, &self.owned[e]);
                self.owned[e].clear();
                self.engines[e] = EngineUnderTest::new(self.world, flags);
            }
            Op::NullArguments { engine, pick } => {
                self.null_arguments(usize::from(engine), self.handle(pick))
            }
        }
        self.check_fast_path();
        assert!(
            !self.world.over_released.get(),
            "an object was released too often"
        );
    }

    fn create(&mut self, e: usize, outcomes: Vec<Outcome>) {
        let resolver = {
            let mut resolvers = self.world.resolvers.borrow_mut();
            resolvers.push(Box::new(ResolverModel {
                outcomes: outcomes.into(),
                calls: Cell::new(0),
                drops: Cell::new(0),
                nested: Cell::new(None),
                returned: Cell::new(std::ptr::null_mut()),
            }));
            resolvers.len() - 1
        };
        let userdata = Box::into_raw(Box::new(ResolverData {
            id: resolver,
            world: self.world,
        }));
        let engine = &mut self.engines[e];
        let mut handle = Handle::NULL;
        // SAFETY: a live engine, NUL-terminated strings, our callbacks.
        let status = unsafe {
            abi::lazy_bind_entry_create(
                engine.raw,
                NAME.as_ptr(),
                NAME.as_ptr(),
                1,
                Some(resolve),
                userdata.cast(),
                Some(drop_resolver),
                &mut handle,
            )
        };
        assert_eq!(status, abi::OK);
        assert_ne!(handle.stamp, 0);
        assert!(!self.seen.contains(&handle), "handles are never reused");
        engine
            .entries
            .insert((handle.stamp, handle.index), Entry::Pending { resolver });
        engine.resolvers.push(resolver);
        engine.counters.deferred += 1;
        engine.counters.pending += 1;
        self.seen.push(handle);
    }

    fn create_resolved(&mut self, e: usize) {
        let object = self.world.object(0, 0);
        self.owned[e].push(object);
        let engine = &mut self.engines[e];
        let mut handle = Handle::NULL;
        // SAFETY: a live engine, NUL-terminated strings, a live object.
        let status = unsafe {
            abi::lazy_bind_entry_create_resolved(
                engine.raw,
                NAME.as_ptr(),
                std::ptr::null(),
                0,
                object,
                &mut handle,
            )
        };
        assert_eq!(status, abi::OK);
        assert_eq!(refs(object), 1, "the engine retains the borrowed value");
        engine
            .entries
            .insert((handle.stamp, handle.index), Entry::Resolved(object));
        self.seen.push(handle);
    }

    fn resolve(&mut self, e: usize, handle: Handle, at_site: bool) {
        let key = (handle.stamp, handle.index);
        let attempt = match self.engines[e].entries.get(&key) {
            Some(Entry::Pending { resolver }) => {
                Some((*resolver, self.world.resolver(*resolver).calls.get()))
            }
            _ => None,
        };
        let sentinel = std::ptr::dangling_mut::<c_void>();
        let mut value = sentinel;
        let mut error = std::ptr::null_mut();
        let file = if at_site {
            NAME.as_ptr()
        } else {
            std::ptr::null()
        };
        // SAFETY: a live engine and writable out-parameters.
        let status = unsafe {
            abi::lazy_bind_resolve(self.engines[e].raw, handle, file, 7, &mut value, &mut error)
        };
        let (expected, expected_value) = match (attempt, self.engines[e].entries.get(&key)) {
            (Some((resolver, calls)), _) => {
                let model = self.world.resolver(resolver);
                assert_eq!(model.calls.get(), calls + 1, "the resolver ran once");
                let outcome = model.outcomes.get(calls).copied().unwrap_or(Outcome::Value);
                self.expect_attempt(e, key, outcome, model, error)
            }
            (None, None) => (abi::STALE_HANDLE, None),
            (None, Some(Entry::Resolved(object))) => (abi::OK, Some(*object)),
            (None, Some(Entry::Failed)) => (abi::RESOLVER_FAILED, None),
            (None, Some(Entry::Pending { .. })) => unreachable!("pending entries have a resolver"),
        };
        assert_eq!(status, expected, "resolve {handle:?}");
        if status == abi::OK {
            assert_eq!(Some(value), expected_value);
            assert!(error.is_null(), "no error object on success");
            assert!(refs(value) >= 1, "the engine holds the value it lends");
        } else {
            assert_eq!(value, sentinel, "value written only on success");
            // SAFETY: the error object the call handed us.
            assert_eq!(unsafe { abi::lazy_bind_error_kind(error) }, status);
            // SAFETY: as above.
            unsafe { abi::lazy_bind_error_free(&mut error) };
        }
        if let Some((resolver, _)) = attempt {
            let settled = !matches!(
                self.engines[e].entries.get(&key),
                Some(Entry::Pending { .. })
            );
            let drops = self.world.resolver(resolver).drops.get();
            assert_eq!(
                drops,
                usize::from(settled),
                "userdata dropped once settled, not before"
            );
        }
    }

    /// The model's side of one attempt by the resolver: updates the entry
    /// and returns the status the access must get, with its value.
    fn expect_attempt(
        &mut self,
        e: usize,
        key: (u64, u32),
        outcome: Outcome,
        model: &ResolverModel,
        error: *mut abi::Error,
    ) -> (u32, Option<*mut c_void>) {
        let engine = &mut self.engines[e];
        let fail = |engine: &mut EngineUnderTest| {
            engine.counters.failed += 1;
            if engine.sticky {
                engine.entries.insert(key, Entry::Failed);
            }
            (abi::RESOLVER_FAILED, None)
        };
        match outcome {
            Outcome::Value | Outcome::ResolveSelf => {
                if matches!(outcome, Outcome::ResolveSelf) {
                    assert_eq!(model.nested.get(), Some(abi::CYCLE), "re-entry is a cycle");
                }
                let value = model.returned.get();
                self.owned[e].push(value);
                engine.entries.insert(key, Entry::Resolved(value));
                engine.counters.resolved += 1;
                engine.counters.pending -= 1;
                (abi::OK, Some(value))
            }
            Outcome::DiscardSelf => {
                assert_eq!(model.nested.get(), Some(abi::OK), "discard while resolving");
                self.owned[e].push(model.returned.get());
                engine.entries.remove(&key);
                engine.counters.pending -= 1;
                (abi::DISCARDED, None)
            }
            Outcome::OkWithoutValue => fail(engine),
            Outcome::Fail {
                status,
                runtime_error,
                padding,
            } => {
                assert!(!error.is_null(), "a failure comes with an error object");
                // SAFETY: the call failed, so `error` is its error object.
                let (resolver_status, message) = unsafe {
                    let message = CStr::from_ptr(abi::lazy_bind_error_message(error));
                    (
                        abi::lazy_bind_error_resolver_status(error),
                        message.to_string_lossy().into_owned(),
                    )
                };
                assert_eq!(resolver_status, status.max(1));
                if runtime_error {
                    let objects = self.world.objects.borrow();
                    let object = objects.last().expect("the resolver made its error object");
                    assert_eq!(object.padding, usize::from(padding));
                    let shown = description(object);
                    let kept = &shown[..shown.len().min(DESCRIPTION_CAPACITY - 1)];
                    assert!(message.contains(kept), "{message:?} shows {kept:?}");
                    self.owned[e].push(&**object as *const Object as *mut c_void);
                }
                fail(&mut self.engines[e])
            }
        }
    }

    fn peek(&mut self, e: usize, handle: Handle) {
        let engine = &self.engines[e];
        let mut state = u32::MAX;
        let mut value = std::ptr::null_mut();
        let mut owner = 0;
        let mut error = std::ptr::null_mut();
        // SAFETY: a live engine and writable out-parameters.
        let status = unsafe {
            abi::lazy_bind_peek(
                engine.raw, handle, &mut state, &mut value, &mut owner, &mut error,
            )
        };
        match engine.entries.get(&(handle.stamp, handle.index)) {
            None => {
                assert_eq!(status, abi::STALE_HANDLE);
                assert_eq!(state, u32::MAX, "state written only on success");
                // SAFETY: the error object the call handed us.
                assert_eq!(
                    unsafe { abi::lazy_bind_error_kind(error) },
                    abi::STALE_HANDLE
                );
            }
            Some(entry) => {
                assert_eq!(status, abi::OK);
                match entry {
                    Entry::Pending { .. } => {
                        assert_eq!(state, abi::STATE_PENDING);
                        assert!(error.is_null() && value.is_null());
                    }
                    Entry::Resolved(object) => {
                        assert_eq!(state, abi::STATE_RESOLVED);
                        assert_eq!(value, *object);
                        assert!(error.is_null());
                    }
                    Entry::Failed => {
                        assert_eq!(state, abi::STATE_FAILED);
                        // SAFETY: the stored error, handed to us.
                        assert_eq!(
                            unsafe { abi::lazy_bind_error_kind(error) },
                            abi::RESOLVER_FAILED
                        );
                    }
                }
            }
        }
        // SAFETY: NULL or an error object handed to us.
        unsafe { abi::lazy_bind_error_free(&mut error) };
    }

    fn provide(&mut self, e: usize, handle: Handle) {
        let object = self.world.object(0, 0);
        self.owned[e].push(object);
        let engine = &mut self.engines[e];
        let key = (handle.stamp, handle.index);
        let will_take = matches!(engine.entries.get(&key), Some(Entry::Pending { .. }));
        let mut taken = !will_take;
        // SAFETY: a live engine, a live object, a writable out-parameter.
        let status =
            unsafe { abi::lazy_bind_entry_provide(engine.raw, handle, object, &mut taken) };
        match engine.entries.get(&key) {
            None => {
                assert_eq!(status, abi::STALE_HANDLE);
                assert_eq!(refs(object), 0, "a refused value is not kept");
            }
            Some(Entry::Pending { resolver }) => {
                assert_eq!((status, taken), (abi::OK, true));
                assert_eq!(refs(object), 1, "the engine retains what it takes");
                assert_eq!(
                    self.world.resolver(*resolver).drops.get(),
                    1,
                    "resolver dropped"
                );
                engine.entries.insert(key, Entry::Resolved(object));
                engine.counters.resolved += 1;
                engine.counters.pending -= 1;
            }
            Some(Entry::Resolved(_) | Entry::Failed) => {
                assert_eq!((status, taken), (abi::OK, false));
                assert_eq!(refs(object), 0, "a value not taken is not kept");
            }
        }
    }

    fn discard(&mut self, e: usize, handle: Handle) {
        let engine = &mut self.engines[e];
        // SAFETY: a live engine.
        let status = unsafe { abi::lazy_bind_entry_discard(engine.raw, handle) };
        match engine.entries.remove(&(handle.stamp, handle.index)) {
            None => assert_eq!(status, abi::STALE_HANDLE),
            Some(entry) => {
                assert_eq!(status, abi::OK);
                match entry {
                    Entry::Resolved(object) => {
                        assert!(refs(object) >= 1, "kept until reclaim");
                        engine.retired.push(object);
                    }
                    Entry::Pending { resolver } => {
                        engine.counters.pending -= 1;
                        assert_eq!(
                            self.world.resolver(resolver).drops.get(),
                            1,
                            "resolver dropped"
                        );
                    }
                    Entry::Failed => engine.counters.pending -= 1,
                }
            }
        }
    }

    fn slot(&mut self, e: usize, handle: Handle) {
        let engine = &mut self.engines[e];
        let sentinel = std::ptr::dangling::<abi::Slot>();
        let mut slot = sentinel;
        // SAFETY: a live engine and a writable out-parameter.
        let status = unsafe { abi::lazy_bind_engine_slot(engine.raw, handle, &mut slot) };
        if engine.entries.contains_key(&(handle.stamp, handle.index)) {
            assert_eq!(status, abi::OK);
            assert!(!slot.is_null() && slot != sentinel);
            engine.slots.push((slot, handle));
        } else {
            assert_eq!(status, abi::STALE_HANDLE);
            assert_eq!(slot, sentinel, "slot written only on success");
        }
    }

    fn reclaim(&mut self, e: usize) {
        let engine = &mut self.engines[e];
        let mut freed = usize::MAX;
        // SAFETY: our engine, used by nobody else; a writable out-parameter.
        let status = unsafe { abi::lazy_bind_engine_reclaim(engine.raw, &mut freed) };
        assert_eq!((status, freed), (abi::OK, engine.retired.len()));
        for object in engine.retired.drain(..) {
            assert_eq!(refs(object), 0, "reclaim releases discarded values");
        }
    }

    fn counters(&mut self, e: usize) {
        let engine = &self.engines[e];
        let mut counters = abi::Counters {
            size: std::mem::size_of::<abi::Counters>(),
            ..abi::Counters::default()
        };
        // SAFETY: a live engine and a writable struct of its own size.
        let status = unsafe { abi::lazy_bind_engine_counters(engine.raw, &mut counters) };
        assert_eq!(status, abi::OK);
        assert_eq!(counters, engine.counters);
    }

    fn null_arguments(&mut self, e: usize, handle: Handle) {
        let engine = self.engines[e].raw;
        let mut value = std::ptr::null_mut();
        let mut error = std::ptr::null_mut();
        let null = std::ptr::null();
        // SAFETY: every call gets at least one NULL it must reject before
        // touching anything; the rest are valid.
        unsafe {
            assert_eq!(
                abi::lazy_bind_resolve(null, handle, null.cast(), 0, &mut value, &mut error),
                abi::NULL_ARGUMENT
            );
            assert_eq!(
                abi::lazy_bind_resolve(
                    engine,
                    handle,
                    null.cast(),
                    0,
                    std::ptr::null_mut(),
                    &mut error
                ),
                abi::NULL_ARGUMENT
            );
            assert_eq!(
                abi::lazy_bind_entry_discard(null, handle),
                abi::NULL_ARGUMENT
            );
            assert_eq!(
                abi::lazy_bind_engine_slot(engine, handle, std::ptr::null_mut()),
                abi::NULL_ARGUMENT
            );
            assert_eq!(
                abi::lazy_bind_entry_provide(
                    engine,
                    handle,
                    std::ptr::null_mut(),
                    std::ptr::null_mut()
                ),
                abi::NULL_ARGUMENT
            );
            assert_eq!(
                abi::lazy_bind_peek(
                    engine,
                    handle,
                    std::ptr::null_mut(),
                    &mut value,
                    std::ptr::null_mut(),
                    &mut error
                ),
                abi::NULL_ARGUMENT
            );
            assert_eq!(
                abi::lazy_bind_engine_reclaim(std::ptr::null_mut(), std::ptr::null_mut()),
                abi::NULL_ARGUMENT
            );
        }
        assert!(
            value.is_null() && error.is_null(),
            "nothing written on failure"
        );
    }

    /// The header's inline fast path, through every slot taken so far: it
    /// sees a value exactly for the live resolved entries.
    fn check_fast_path(&self) {
        for engine in &self.engines {
            for &(slot, handle) in &engine.slots {
                // SAFETY: slots live as long as their engine (slots of freed
                // engines are dropped from the list).
                let slot = unsafe { &*slot };
                let resolved =
                    slot.word.load(Ordering::Acquire) == handle.stamp | abi::SLOT_RESOLVED;
                match engine.entries.get(&(handle.stamp, handle.index)) {
                    Some(Entry::Resolved(object)) => {
                        assert!(resolved, "fast path misses a resolved entry");
                        assert_eq!(slot.value, *object);
                    }
                    _ => assert!(!resolved, "fast path sees a value for {handle:?}"),
                }
            }
        }
    }
}

fuzz_target!(|input: Input| {
    let world = World::default();
    {
        let engines = [
            EngineUnderTest::new(&world, input.flags[0]),
            EngineUnderTest::new(&world, input.flags[1]),
        ];
        let mut fuzz = Fuzz {
            world: &world,
            engines,
            owned: [Vec::new(), Vec::new()],
            seen: Vec::new(),
        };
        for op in input.ops {
            fuzz.run(op);
        }
        for e in 0..2 {
            let owned = std::mem::take(&mut fuzz.owned[e]);
            fuzz.engines[e].free(&world, &owned);
        }
    }
    for resolver in world.resolvers.borrow().iter() {
        assert_eq!(
            resolver.drops.get(),
            1,
            "every resolver's userdata dropped once"
        );
    }
});
