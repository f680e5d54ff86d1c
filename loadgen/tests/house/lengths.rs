//! Source files of the workspace, and how long each function in one of them is.

use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Every file under `root` whose name ends with `suffix`, skipping build output and hidden folders.
pub fn files(root: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("readable directory")
            .flatten()
        {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    dirs.push(path);
                }
            } else if name.ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Each function of a source file: its name, the line of `fn`, and its length in lines from
/// `fn` to the closing brace (attributes and doc comments not counted).
pub fn functions(source: &str) -> Vec<(String, usize, usize)> {
    let file = syn::parse_file(source).expect("the workspace's sources parse");
    let mut lengths = Lengths(Vec::new());
    lengths.visit_file(&file);
    lengths.0
}

struct Lengths(Vec<(String, usize, usize)>);

impl Lengths {
    fn record(&mut self, sig: &syn::Signature, block: &syn::Block) {
        let start = sig.fn_token.span.start().line;
        let end = block.brace_token.span.close().end().line;
        self.0.push((sig.ident.to_string(), start, end + 1 - start));
    }
}

impl<'ast> Visit<'ast> for Lengths {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.record(&f.sig, &f.block);
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.record(&f.sig, &f.block);
        syn::visit::visit_impl_item_fn(self, f);
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(block) = &f.default {
            self.record(&f.sig, block);
        }
        syn::visit::visit_trait_item_fn(self, f);
    }
}

#[test]
fn measures_from_fn_to_the_closing_brace() {
    let source = "/// doc\n#[inline]\nfn short() {}\n\nimpl X {\n    fn three() {\n        body();\n    }\n}\n";
    let found = functions(source);
    assert_eq!(
        found,
        vec![("short".to_string(), 3, 1), ("three".to_string(), 6, 3)]
    );
}
