//! Every rule of cfn-validator and db-deploy has its page in docs/rules (each crate checks its pages are
//! current), no page is left for a rule that no longer exists, and no id is used by both tools.

use std::collections::BTreeSet;

#[test]
fn docs_rules_has_exactly_one_page_per_rule() {
    let cfn: BTreeSet<&str> = cfn_validator::rules::RuleId::ALL.iter().map(|r| r.as_str()).collect();
    let db: BTreeSet<&str> = db_deploy::forecast::RuleId::ALL.iter().map(|r| r.as_str()).collect();
    let shared: Vec<&&str> = cfn.intersection(&db).collect();
    assert!(shared.is_empty(), "rule ids used by both tools (one page cannot describe both): {shared:?}");

    let dir = test_support::lambda::workspace_root().join("docs/rules");
    let pages: BTreeSet<String> =
        std::fs::read_dir(&dir).expect("docs/rules").filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    let expected: BTreeSet<String> = cfn.iter().chain(db.iter()).map(|id| format!("{id}.md")).collect();
    let missing: Vec<&String> = expected.difference(&pages).collect();
    let extra: Vec<&String> = pages.difference(&expected).collect();
    assert!(missing.is_empty(), "rules without a page (run the tests with UPDATE_RULE_DOCS=1): {missing:?}");
    assert!(extra.is_empty(), "pages for no rule: {extra:?}");
}
