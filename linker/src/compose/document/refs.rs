//! The packages a WAC document names, each once, with the first place that
//! names it: what the resolver will ask for, so every package is found
//! before resolution starts.
//!
//! A package is named by a `new` expression, an `import` of a package path,
//! a `use` or `include` inside a type declaration, a world item path, and
//! the `targets` clause. The document's own package is not one of them.

use indexmap::IndexMap;
use miette::SourceSpan;
use semver::Version;
use wac_parser::{
    Document, Expr, ExternType, ImportType, InstantiationArgument, InterfaceItem, PrimaryExpr, Statement,
    TypeStatement, UsePath, WorldItem, WorldItemPath, WorldRef,
};

/// A package as the document names it: `ns:pkg` and, when given, a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PackageRef<'a> {
    /// `ns:pkg`.
    pub name: &'a str,
    /// The version, as written after `@`.
    pub version: Option<&'a Version>,
}

/// What [`referenced`] found: each package once, in the order first named,
/// with that first place; or the place a `new` names the document's own
/// package.
pub enum Found<'a> {
    /// Every package named.
    Packages(IndexMap<PackageRef<'a>, SourceSpan>),
    /// A `new` of the document's own package, at this span.
    SelfInstantiation(SourceSpan),
}

/// Every package `doc` names.
pub fn referenced<'a>(doc: &'a Document<'a>) -> Found<'a> {
    let mut w = Walk {
        this: doc.directive.package.name,
        found: IndexMap::new(),
        own: None,
    };
    if let Some(t) = &doc.directive.targets {
        w.add(t.name, t.version.as_ref(), t.package_name_span());
    }
    for stmt in &doc.statements {
        match stmt {
            Statement::Import(i) => match &i.ty {
                ImportType::Package(p) => w.add(p.name, p.version.as_ref(), p.package_name_span()),
                ImportType::Interface(i) => i.items.iter().for_each(|item| w.interface_item(item)),
                ImportType::Func(_) | ImportType::Ident(_) => {}
            },
            Statement::Type(TypeStatement::Interface(i)) => {
                i.items.iter().for_each(|item| w.interface_item(item))
            }
            Statement::Type(TypeStatement::World(world)) => {
                world.items.iter().for_each(|item| w.world_item(item))
            }
            Statement::Type(TypeStatement::Type(_)) => {}
            Statement::Let(l) => w.expr(&l.expr),
            Statement::Export(e) => w.expr(&e.expr),
        }
    }
    match w.own {
        Some(span) => Found::SelfInstantiation(span),
        None => Found::Packages(w.found),
    }
}

struct Walk<'a> {
    this: &'a str,
    found: IndexMap<PackageRef<'a>, SourceSpan>,
    own: Option<SourceSpan>,
}

impl<'a> Walk<'a> {
    fn add(&mut self, name: &'a str, version: Option<&'a Version>, span: SourceSpan) {
        if name != self.this {
            self.found.entry(PackageRef { name, version }).or_insert(span);
        }
    }

    fn use_path(&mut self, path: &'a UsePath<'a>) {
        if let UsePath::Package(p) = path {
            self.add(p.name, p.version.as_ref(), p.package_name_span());
        }
    }

    fn interface_item(&mut self, item: &'a InterfaceItem<'a>) {
        if let InterfaceItem::Use(u) = item {
            self.use_path(&u.path);
        }
    }

    fn world_item(&mut self, item: &'a WorldItem<'a>) {
        let path = match item {
            WorldItem::Use(u) => return self.use_path(&u.path),
            WorldItem::Include(i) => {
                if let WorldRef::Package(p) = &i.world {
                    self.add(p.name, p.version.as_ref(), p.package_name_span());
                }
                return;
            }
            WorldItem::Type(_) => return,
            WorldItem::Import(i) => &i.path,
            WorldItem::Export(e) => &e.path,
        };
        match path {
            WorldItemPath::Package(p) => self.add(p.name, p.version.as_ref(), p.package_name_span()),
            WorldItemPath::Named(n) => {
                if let ExternType::Interface(i) = &n.ty {
                    i.items.iter().for_each(|item| self.interface_item(item));
                }
            }
            WorldItemPath::Ident(_) => {}
        }
    }

    fn expr(&mut self, expr: &'a Expr<'a>) {
        match &expr.primary {
            PrimaryExpr::New(e) => {
                if e.package.name == self.this {
                    self.own.get_or_insert(e.package.span);
                    return;
                }
                self.add(e.package.name, e.package.version.as_ref(), e.package.span);
                for arg in &e.arguments {
                    if let InstantiationArgument::Named(a) = arg {
                        self.expr(&a.expr);
                    }
                }
            }
            PrimaryExpr::Nested(n) => self.expr(&n.inner),
            PrimaryExpr::Ident(_) => {}
        }
    }
}
