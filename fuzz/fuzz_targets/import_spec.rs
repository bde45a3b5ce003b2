//! `ImportSpec` construction and `resolve_name` from arbitrary names and
//! levels, against a model written from CPython's rule
//! (`importlib._bootstrap._resolve_name`).
//!
//! Properties checked on every input:
//! - `resolve_name` returns exactly what the model returns, value or error.
//! - `ImportSpec::import`, `import_as` and `from_import` succeed exactly when
//!   the model says so, with the model's error otherwise; a built spec keeps
//!   the importer, the absolute target, what it binds and the site.
//! - The C ABI's `lazy_bind_resolve_name` agrees with the Rust result.
#![no_main]

use std::ffi::{c_char, CStr, CString};
use std::sync::Arc;

use arbitrary::Arbitrary;
use lazy_bind::imports::{resolve_name, FromName, ImportError, ImportKind, ImportSpec};
use lazy_bind::Site;
use libfuzzer_sys::fuzz_target;

extern "C" {
    fn lazy_bind_resolve_name(
        package: *const c_char,
        level: u32,
        name: *const c_char,
        absolute_out: *mut *mut c_char,
        error_message_out: *mut *mut c_char,
    ) -> u32;
    fn lazy_bind_string_free(string: *mut *mut c_char);
}

const OK: u32 = 0;
const INVALID_IMPORT: u32 = 14;

#[derive(Arbitrary, Debug)]
struct Input {
    importer: String,
    package: String,
    /// Small levels mostly; `huge` tries the far end of `u32`.
    level: u8,
    huge: bool,
    module: String,
    alias: String,
    names: Vec<(String, Option<String>)>,
    line: u32,
}

fuzz_target!(|input: Input| {
    let level = if input.huge {
        u32::MAX - u32::from(input.level)
    } else {
        u32::from(input.level % 8)
    };
    let site = Site::new("fuzz.py", input.line);
    let resolved = resolve_name(&input.package, level, &input.module);
    assert_eq!(
        resolved,
        model_resolve(&input.package, level, &input.module),
        "resolve_name({:?}, {level}, {:?})",
        input.package,
        input.module
    );
    check_c_resolve_name(&input.package, level, &input.module, &resolved);

    let spec = ImportSpec::import(&input.importer, &input.module, site.clone());
    match (&spec, valid_dotted(&input.module)) {
        (Ok(spec), true) => {
            check_common(spec, &input.importer, &input.module, &site);
            assert_eq!(spec.kind(), &ImportKind::Package);
        }
        (Err(error), false) => assert_eq!(error, &invalid(&input.module)),
        _ => panic!("import {:?} gave {spec:?}", input.module),
    }

    let spec = ImportSpec::import_as(&input.importer, &input.module, &input.alias, site.clone());
    let expected = if !valid_dotted(&input.module) {
        Err(invalid(&input.module))
    } else if !valid_plain(&input.alias) {
        Err(invalid(&input.alias))
    } else {
        Ok(ImportKind::ModuleAs(input.alias.as_str().into()))
    };
    match (&spec, expected) {
        (Ok(spec), Ok(kind)) => {
            check_common(spec, &input.importer, &input.module, &site);
            assert_eq!(spec.kind(), &kind);
        }
        (Err(error), Err(expected)) => assert_eq!(error, &expected),
        (spec, expected) => panic!("import_as gave {spec:?}, model {expected:?}"),
    }

    let names: Vec<(&str, Option<&str>)> = input
        .names
        .iter()
        .map(|(name, alias)| (name.as_str(), alias.as_deref()))
        .collect();
    let spec = ImportSpec::from_import(
        &input.importer,
        &input.package,
        level,
        &input.module,
        &names,
        site.clone(),
    );
    match (
        &spec,
        model_from(&input.package, level, &input.module, &names),
    ) {
        (Ok(spec), Ok((target, from))) => {
            check_common(spec, &input.importer, &target, &site);
            assert_eq!(spec.kind(), &ImportKind::From(from));
        }
        (Err(error), Err(expected)) => assert_eq!(error, &expected),
        (spec, expected) => panic!("from_import gave {spec:?}, model {expected:?}"),
    }
});

fn check_common(spec: &ImportSpec, importer: &str, target: &str, site: &Site) {
    assert_eq!(spec.importer(), importer);
    assert_eq!(spec.target(), target);
    assert_eq!(spec.site(), site);
    assert_eq!(Some(spec.top_package()), target.split('.').next());
}

fn invalid(name: &str) -> ImportError {
    ImportError::InvalidName {
        name: name.to_owned(),
    }
}

fn valid_dotted(name: &str) -> bool {
    !name.is_empty() && name.split('.').all(|part| !part.is_empty())
}

fn valid_plain(name: &str) -> bool {
    !name.is_empty() && !name.contains('.')
}

/// CPython's rule: drop the last `level - 1` parts of the package, which
/// needs at least `level` parts, then append the name.
fn model_resolve(package: &str, level: u32, name: &str) -> Result<String, ImportError> {
    if level == 0 {
        return if valid_dotted(name) {
            Ok(name.to_owned())
        } else {
            Err(invalid(name))
        };
    }
    if package.is_empty() {
        return Err(ImportError::NoParentPackage {
            name: name.to_owned(),
            level,
        });
    }
    if !valid_dotted(package) {
        return Err(invalid(package));
    }
    if !name.is_empty() && !valid_dotted(name) {
        return Err(invalid(name));
    }
    let parts: Vec<&str> = package.split('.').collect();
    if level as usize > parts.len() {
        return Err(ImportError::BeyondTopLevel {
            package: package.to_owned(),
            level,
        });
    }
    let base = parts[..parts.len() + 1 - level as usize].join(".");
    Ok(if name.is_empty() {
        base
    } else {
        format!("{base}.{name}")
    })
}

fn model_from(
    package: &str,
    level: u32,
    module: &str,
    names: &[(&str, Option<&str>)],
) -> Result<(String, Vec<FromName>), ImportError> {
    let target = model_resolve(package, level, module)?;
    if names.is_empty() {
        return Err(ImportError::NoNames { module: target });
    }
    let mut from = Vec::new();
    for &(attribute, alias) in names {
        if attribute == "*" {
            return Err(ImportError::StarImport { module: target });
        }
        let bound_as = alias.unwrap_or(attribute);
        for name in [attribute, bound_as] {
            if !valid_plain(name) {
                return Err(invalid(name));
            }
        }
        from.push(FromName {
            attribute: Arc::from(attribute),
            bound_as: Arc::from(bound_as),
        });
    }
    Ok((target, from))
}

/// The C ABI's answer for the same strings (when they hold no NUL).
fn check_c_resolve_name(
    package: &str,
    level: u32,
    name: &str,
    expected: &Result<String, ImportError>,
) {
    let (Ok(c_package), Ok(c_name)) = (CString::new(package), CString::new(name)) else {
        return;
    };
    let mut absolute: *mut c_char = std::ptr::null_mut();
    let mut message: *mut c_char = std::ptr::null_mut();
    // SAFETY: NUL-terminated strings and writable out-parameters.
    let status = unsafe {
        lazy_bind_resolve_name(
            c_package.as_ptr(),
            level,
            c_name.as_ptr(),
            &mut absolute,
            &mut message,
        )
    };
    // SAFETY: the library writes NULL or a NUL-terminated string it owns.
    let read = |text: *mut c_char| unsafe { CStr::from_ptr(text) }.to_str().unwrap().to_owned();
    match expected {
        Ok(target) => {
            assert_eq!(status, OK);
            assert!(message.is_null());
            assert_eq!(&read(absolute), target);
        }
        Err(error) => {
            assert_eq!(status, INVALID_IMPORT);
            assert!(absolute.is_null(), "written only on success");
            assert_eq!(read(message), error.to_string());
        }
    }
    // SAFETY: each is NULL or a string the library handed out.
    unsafe {
        lazy_bind_string_free(&mut absolute);
        lazy_bind_string_free(&mut message);
    }
}
