//! `weld size --html`: one self-contained page (no network: inline script
//! and style) with a zoomable treemap and a sortable table.
//!
//! Parts smaller than 1/20,000 of the file, and past the 400 largest of a
//! node, are summed into one `(N smaller parts)` node per parent, so a page
//! of a large component stays small and quick to draw.

use weld_linker::SizeNode;

const TEMPLATE: &str = include_str!("size.html");

/// Children kept per node.
const MAX_CHILDREN: usize = 400;
/// Parts below this share of the file are summed up.
const MIN_SHARE: u64 = 20_000;

/// The page for `file`: its tree and, with DWARF, its code by source file.
pub fn page(file: &str, tree: &SizeNode, source: Option<&SizeNode>) -> anyhow::Result<String> {
    let min = tree.bytes / MIN_SHARE;
    let mut views = vec![serde_json::json!({"label": "by structure", "tree": aggregate(tree, min)})];
    if let Some(s) = source {
        views.push(serde_json::json!({"label": "code by source file", "tree": aggregate(s, min)}));
    }
    let data = serde_json::json!({
        "file": file,
        "bytes": tree.bytes,
        "note": format!("parts under {min} bytes summed per parent"),
        "views": views,
    });
    // Inside a <script> element: no `</` may end it early.
    let json = serde_json::to_string(&data)?.replace("</", "<\\/");
    // Filled by position: a file name that reads `{{DATA}}` stays a name.
    let (head, tail) = TEMPLATE
        .split_once("{{DATA}}")
        .expect("the page has one place for the data");
    Ok(format!(
        "{}{json}{tail}",
        head.replace("{{TITLE}}", &html_escape(file))
    ))
}

/// `n` with its small parts summed up, at every depth.
fn aggregate(n: &SizeNode, min: u64) -> SizeNode {
    let mut children: Vec<&SizeNode> = n.children.iter().collect();
    children.sort_by_key(|c| std::cmp::Reverse(c.bytes));
    let keep = children
        .iter()
        .take(MAX_CHILDREN)
        .take_while(|c| c.bytes >= min.max(1))
        .count();
    let mut kept: Vec<SizeNode> = children[..keep].iter().map(|c| aggregate(c, min)).collect();
    let rest = &children[keep..];
    if !rest.is_empty() {
        kept.push(SizeNode {
            name: format!("({} smaller parts)", rest.len()),
            kind: "rest",
            bytes: rest.iter().map(|c| c.bytes).sum(),
            same_as: None,
            problem: None,
            children: Vec::new(),
        });
    }
    SizeNode {
        name: n.name.clone(),
        kind: n.kind,
        bytes: n.bytes,
        same_as: n.same_as.clone(),
        problem: n.problem.clone(),
        children: kept,
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
