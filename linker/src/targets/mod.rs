//! `weld targets WORLD COMPONENT`: will this component run on a host that
//! provides this world? (DESIGN §4.)
//!
//! Every import of the component must be provided by the world, and every
//! export the world expects must be provided by the component. Names match
//! by the resolver's rule: the exact name, else the highest version on the
//! same semver track. A structural type check follows each match; it is the
//! validator's, on small components synthesized per item (see [`check`]), so
//! each item gets its own verdict, and a check of the whole component
//! (`wit-component`'s `targets`) confirms the sum.

pub(crate) mod check;
pub(crate) mod wit_text;
pub(crate) mod world;

pub use world::TargetWorld;

use crate::error::TargetsError;

/// Which side of the component an item is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The component imports it; the world must provide it.
    Import,
    /// The world expects it; the component must export it.
    Export,
}

/// The verdict on one item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Status {
    /// Same name, compatible type.
    Exact,
    /// Matched by the semver rule, compatible type: `from` was asked for,
    /// `to` was found.
    Semver {
        /// The version asked for.
        from: String,
        /// The version found.
        to: String,
    },
    /// Nothing of this name (or on its semver track) on the other side.
    Missing,
    /// Matched by name, but the types do not fit.
    TypeMismatch {
        /// What the side that needs the item expects and the other side
        /// lacks, in WIT syntax (`the component expects ...; the world has
        /// ...`).
        detail: String,
        /// The validator's reason.
        reason: String,
    },
    /// Matched by name, but not checked: it uses an item that is missing
    /// or does not fit.
    Unchecked {
        /// The item it depends on.
        because: String,
    },
}

/// One import or export.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TargetItem {
    /// Import (of the component) or export (expected by the world).
    pub direction: Direction,
    /// The name as the side that needs it writes it: the component's import
    /// name, or the world's export name.
    pub name: String,
    /// The name found on the other side, if any.
    pub matched: Option<String>,
    /// The verdict.
    #[serde(flatten)]
    pub status: Status,
}

impl TargetItem {
    /// Whether this item is fine.
    pub fn ok(&self) -> bool {
        matches!(self.status, Status::Exact | Status::Semver { .. })
    }
}

impl std::fmt::Display for TargetItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dir = match self.direction {
            Direction::Import => "import",
            Direction::Export => "export",
        };
        write!(f, "{dir} {}: ", self.name)?;
        match &self.status {
            Status::Exact => f.write_str("exact"),
            Status::Semver { from, to } => write!(f, "semver {from} -> {to}"),
            Status::Missing => match self.direction {
                Direction::Import => f.write_str("missing (the world does not provide it)"),
                Direction::Export => f.write_str("missing (the component does not export it)"),
            },
            Status::TypeMismatch { detail, reason } => write!(f, "type mismatch: {detail} ({reason})"),
            Status::Unchecked { because } => write!(f, "not checked: {because}"),
        }
    }
}

/// What [`targets`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TargetsReport {
    /// The world's full name.
    pub world: String,
    /// The component, as named by the caller.
    pub component: String,
    /// Whether the component conforms.
    pub conforms: bool,
    /// The component's imports, then the world's exports, in their order.
    pub items: Vec<TargetItem>,
    /// When every item fits but the component as a whole does not (the
    /// check of the whole component failed): why.
    pub overall: Option<String>,
}

impl TargetsReport {
    /// The report as text: one line per item, then the verdict.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for item in &self.items {
            s.push_str(&format!("{item}\n"));
        }
        if let Some(o) = &self.overall {
            s.push_str(&format!("whole component: {o}\n"));
        }
        let bad = self.items.iter().filter(|i| !i.ok()).count();
        if self.conforms {
            s.push_str(&format!("{} conforms to {}\n", self.component, self.world));
        } else {
            s.push_str(&format!(
                "{} does not conform to {} ({bad} of {} items do not fit)\n",
                self.component,
                self.world,
                self.items.len()
            ));
        }
        s
    }
}

/// Checks `component` (the bytes of a component, named `name` in the
/// report) against `world`.
///
/// ```
/// use weld_linker::{targets, TargetWorld};
///
/// let world = TargetWorld::from_wit(
///     "host.wit",
///     "package demo:host@1.0.0;
///      interface log { log: func(msg: string); }
///      world host { import log; export run: func(); }",
///     None,
/// )?;
/// let component = wat::parse_str(r#"(component
///     (import "demo:host/log@1.2.0" (instance (export "log" (func (param "msg" string)))))
///     (core module $m (func (export "run")))
///     (core instance $i (instantiate $m))
///     (func $run (canon lift (core func $i "run")))
///     (export "run" (func $run)))"#)?;
/// let report = targets(&world, "app", &component)?;
/// assert!(report.conforms);
/// assert_eq!(report.items[0].to_string(), "import demo:host/log@1.2.0: semver 1.2.0 -> 1.0.0");
/// assert_eq!(report.items[1].to_string(), "export run: exact");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn targets(world: &TargetWorld, name: &str, component: &[u8]) -> Result<TargetsReport, TargetsError> {
    check::check(world, name, component)
}
