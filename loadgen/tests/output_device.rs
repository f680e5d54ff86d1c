//! `--output` naming a device or a pipe writes into it and leaves the node alone (renaming a
//! temporary file over `/dev/null` as root would replace the device itself).

mod crafted;

use std::io::Read;
use std::os::unix::fs::FileTypeExt;

#[test]
fn output_to_a_fifo_writes_through_it_and_keeps_it_a_fifo() {
    let dir = crafted::scratch_dir("fifo-output");
    let fifo = dir.join("result.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut json = String::new();
            std::fs::File::open(&fifo)
                .unwrap()
                .read_to_string(&mut json)
                .unwrap();
            json
        })
    };
    let result = crafted::result("mio", 10, 1000.0, 50);
    loadgen::export::json::write(&result, &fifo).expect("write to a FIFO");
    // Checked before joining: had the FIFO been replaced, the reader would wait forever.
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced by {kind:?}");
    let json = reader.join().unwrap();
    let back: loadgen::RunResult = serde_json::from_str(&json).expect("the FIFO carried the JSON");
    assert_eq!(back, result);
    assert!(!dir.join("result.json.tmp").exists());
}
