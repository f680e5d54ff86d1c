//! The module tree of one crate, and which module each module's paths lead to.
//!
//! Paths are resolved the way a reader follows them: `crate::`, `self::`, `super::` and child
//! module names are walked down the tree, and a name a module re-exports (`pub use`) is followed
//! to the module that defines it, so `crate::Thing` counts as an import of `Thing`'s own module.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The crate roots of the package in `dir`: library, binaries, tests, benches, examples, build script.
pub fn roots_of(dir: &Path) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    for file in ["src/lib.rs", "src/main.rs", "build.rs"] {
        roots.push(dir.join(file));
    }
    for folder in ["src/bin", "tests", "benches", "examples"] {
        let Ok(entries) = std::fs::read_dir(dir.join(folder)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            roots.push(if path.is_dir() {
                path.join("main.rs")
            } else {
                path
            });
        }
    }
    roots.retain(|p| p.extension().is_some_and(|e| e == "rs") && p.is_file());
    roots
}

/// One module: where it sits, its children, what it re-exports and the paths it names.
struct Module {
    path: Vec<String>,
    file: PathBuf,
    parent: Option<usize>,
    children: BTreeMap<String, usize>,
    reexports: BTreeMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
    paths: Vec<Vec<String>>,
}

/// The modules of one crate; index 0 is the crate root.
pub struct Tree {
    modules: Vec<Module>,
}

impl Tree {
    /// Parses the crate whose root file is `root`, following `mod` declarations to their files.
    pub fn load(root: &Path) -> Tree {
        let mut tree = Tree {
            modules: Vec::new(),
        };
        let dir = root
            .parent()
            .expect("a root file has a folder")
            .to_path_buf();
        tree.load_file(root, Vec::new(), None, &dir);
        tree
    }

    /// `crate::a::b (file)` for module `m`.
    pub fn describe(&self, m: usize) -> String {
        let module = &self.modules[m];
        let name = std::iter::once("crate".to_string()).chain(module.path.iter().cloned());
        format!(
            "{} ({})",
            name.collect::<Vec<_>>().join("::"),
            module.file.display()
        )
    }

    /// For each module, the other modules its paths lead to.
    pub fn edges(&self) -> Vec<Vec<usize>> {
        (0..self.modules.len())
            .map(|m| {
                let mut to: Vec<usize> = self.modules[m]
                    .paths
                    .iter()
                    .filter_map(|p| self.resolve(m, p, 0))
                    .filter(|&t| t != m)
                    .collect();
                to.sort_unstable();
                to.dedup();
                to
            })
            .collect()
    }

    fn load_file(&mut self, file: &Path, path: Vec<String>, parent: Option<usize>, dir: &Path) {
        let source =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let parsed = syn::parse_file(&source).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        self.load_items(&parsed.items, file, path, parent, dir);
    }

    fn load_items(
        &mut self,
        items: &[syn::Item],
        file: &Path,
        path: Vec<String>,
        parent: Option<usize>,
        dir: &Path,
    ) {
        let me = self.modules.len();
        let mut names = Names::default();
        for item in items {
            names.visit_item(item);
        }
        self.modules.push(Module {
            path: path.clone(),
            file: file.to_path_buf(),
            parent,
            children: BTreeMap::new(),
            reexports: names.reexports,
            globs: names.globs,
            paths: names.paths,
        });
        for item in items {
            let syn::Item::Mod(m) = item else { continue };
            let name = m.ident.to_string();
            let child_path: Vec<String> = path.iter().cloned().chain([name.clone()]).collect();
            let child = self.modules.len();
            self.modules[me].children.insert(name.clone(), child);
            match &m.content {
                Some((_, inner)) => {
                    self.load_items(inner, file, child_path, Some(me), &dir.join(&name))
                }
                None => {
                    let file = child_file(m, dir, &name);
                    let child_dir = if file.ends_with("mod.rs") {
                        dir.join(&name)
                    } else {
                        file.with_extension("")
                    };
                    self.load_file(&file, child_path, Some(me), &child_dir);
                }
            }
        }
    }

    /// The module a path written in module `m` leads to, if it stays inside the crate.
    fn resolve(&self, m: usize, segs: &[String], depth: usize) -> Option<usize> {
        let (mut cur, mut rest) = match segs.first()?.as_str() {
            "crate" => (0, &segs[1..]),
            "self" => (m, &segs[1..]),
            "super" => {
                let mut cur = m;
                let mut rest = segs;
                while rest.first().is_some_and(|s| s == "super") {
                    cur = self.modules[cur].parent?;
                    rest = &rest[1..];
                }
                (cur, rest)
            }
            first if self.modules[m].children.contains_key(first) => (m, segs),
            _ => return None,
        };
        while let Some(&child) = rest.first().and_then(|s| self.modules[cur].children.get(s)) {
            cur = child;
            rest = &rest[1..];
        }
        let (Some(name), true) = (rest.first(), depth < 8) else {
            return Some(cur);
        };
        let module = &self.modules[cur];
        let target = module
            .reexports
            .get(name)
            .and_then(|p| self.resolve(cur, p, depth + 1));
        let from_glob = || {
            module.globs.iter().find_map(|g| {
                let through: Vec<String> = g.iter().cloned().chain([name.clone()]).collect();
                self.resolve(cur, &through, depth + 1)
                    .filter(|&t| t != cur && t != m)
            })
        };
        Some(target.or_else(from_glob).unwrap_or(cur))
    }
}

/// The file of `mod name;` declared in a module whose children live in `dir`.
fn child_file(m: &syn::ItemMod, dir: &Path, name: &str) -> PathBuf {
    for attr in &m.attrs {
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if nv.path.is_ident("path") {
                if let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) = &nv.value
                {
                    return dir.parent().unwrap_or(dir).join(s.value());
                }
            }
        }
    }
    let flat = dir.join(format!("{name}.rs"));
    if flat.is_file() {
        flat
    } else {
        dir.join(name).join("mod.rs")
    }
}

/// The paths one module names (in `use` items and in code) and the names it re-exports.
#[derive(Default)]
struct Names {
    paths: Vec<Vec<String>>,
    reexports: BTreeMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
}

impl Names {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree, public: bool) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree, public);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.use_leaf(prefix, &n.ident, &n.ident, public),
            syn::UseTree::Rename(r) => self.use_leaf(prefix, &r.ident, &r.rename, public),
            syn::UseTree::Glob(_) => {
                self.paths.push(prefix.clone());
                if public {
                    self.globs.push(prefix.clone());
                }
            }
            syn::UseTree::Group(g) => g
                .items
                .iter()
                .for_each(|t| self.use_tree(prefix, t, public)),
        }
    }

    fn use_leaf(
        &mut self,
        prefix: &[String],
        ident: &syn::Ident,
        alias: &syn::Ident,
        public: bool,
    ) {
        let mut full = prefix.to_vec();
        if ident != "self" {
            full.push(ident.to_string());
        }
        if public {
            let name = if alias == "self" {
                prefix.last().cloned().unwrap_or_default()
            } else {
                alias.to_string()
            };
            self.reexports.insert(name, full.clone());
        }
        self.paths.push(full);
    }
}

impl<'ast> Visit<'ast> for Names {
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {
        // A child module is a module of its own: its paths are its own.
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let public = !matches!(u.vis, syn::Visibility::Inherited);
        self.use_tree(&mut Vec::new(), &u.tree, public);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.leading_colon.is_none() && p.segments.len() > 1 {
            self.paths
                .push(p.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, p);
    }
}
