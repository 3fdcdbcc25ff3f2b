//! include/rumour.h is what cbindgen makes of src/lib.rs today: a change to
//! the ABI without `make -C bindings-c header` fails here.

#[test]
fn the_committed_header_is_current() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).expect("cbindgen.toml reads");
    let bindings =
        cbindgen::Builder::new().with_crate(dir).with_config(config).generate().expect("the header generates");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let path = format!("{dir}/include/rumour.h");
    if std::env::var_os("RUMOUR_WRITE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("writes the header");
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(committed == generated, "include/rumour.h is out of date: run `make -C bindings-c header` and commit it");
}
