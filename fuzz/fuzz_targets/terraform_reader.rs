//! The gate's Terraform reader on any text: loading, linting and building the topology may refuse,
//! never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let (tf, tfvars) = match text.split_once("\n---\n") {
        Some((tf, vars)) => (tf.to_owned(), vars.to_owned()),
        None => (text, String::new()),
    };
    let Ok(module) = emulator::terraform::Module::from_sources(
        std::path::Path::new("fuzz"),
        &[("main.tf".to_owned(), tf)],
        &[("terraform.tfvars".to_owned(), tfvars)],
        &[],
    ) else {
        return;
    };
    let _ = emulator::terraform::lint::lint(&module);
    let _ = emulator::terraform::topology(&module);
});
