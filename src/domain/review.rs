//! Review of a case: states, sign-off rules and the audit trail's hash chain.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::analysis::ObjectFlag;
use super::ids::{MetaphaseId, ObjectId};

/// Where a case version stands. `Draft -> Analysed -> InReview -> Signed`;
/// a signed version is read-only and, once amended, `Amended` (kept intact
/// and visible, superseded by a newer version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Draft,
    Analysed,
    InReview,
    Signed,
    Amended,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Analysed => "analysed",
            Self::InReview => "in_review",
            Self::Signed => "signed",
            Self::Amended => "amended",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "draft" => Self::Draft,
            "analysed" => Self::Analysed,
            "in_review" => Self::InReview,
            "signed" => Self::Signed,
            "amended" => Self::Amended,
            _ => return None,
        })
    }

    /// A signed (or amended, i.e. signed then superseded) version never changes.
    pub fn is_read_only(self) -> bool {
        matches!(self, Self::Signed | Self::Amended)
    }

    /// The state after a metaphase was imported.
    pub fn after_import(self) -> Self {
        match self {
            Self::Draft => Self::Analysed,
            other => other,
        }
    }

    /// The state after a correction.
    pub fn after_edit(self) -> Self {
        match self {
            Self::Draft | Self::Analysed => Self::InReview,
            other => other,
        }
    }

    /// True when `self -> next` is an allowed transition.
    pub fn can_become(self, next: Self) -> bool {
        use CaseStatus::{Amended, Analysed, Draft, InReview, Signed};
        matches!(
            (self, next),
            (Draft, Analysed)
                | (Draft | Analysed, InReview)
                | (Analysed | InReview, Signed)
                | (Signed, Amended)
        )
    }
}

impl std::fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who does what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Analyst,
    Reviewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Analyst => "analyst",
            Self::Reviewer => "reviewer",
        }
    }
}

/// The checks made before a case may be signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOffRules {
    pub min_counted: usize,
    pub min_analysed: usize,
    /// The signer must not be the analyst.
    pub two_person: bool,
}

impl Default for SignOffRules {
    fn default() -> Self {
        Self {
            min_counted: 20,
            min_analysed: 5,
            two_person: false,
        }
    }
}

/// What the rules look at.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SignOffFacts {
    pub counted: usize,
    pub analysed: usize,
    /// Review flags (entropy, polarity, homolog difference) neither
    /// corrected, rejected nor accepted.
    pub unresolved: Vec<(MetaphaseId, ObjectId, ObjectFlag)>,
    /// Users who imported or edited the case.
    pub analysts: Vec<String>,
    pub signer: String,
    /// A recorded reason to sign below the minimum cell counts.
    pub reason: Option<String>,
}

/// A rule not met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum UnmetRule {
    #[error("{counted} cells counted, at least {min} needed (or give a reason)")]
    TooFewCounted { counted: usize, min: usize },
    #[error("{analysed} cells analysed, at least {min} needed (or give a reason)")]
    TooFewAnalysed { analysed: usize, min: usize },
    #[error(
        "object {object} of metaphase {metaphase} is flagged ({}): correct it, reject it or accept it",
        flag_text(*flag)
    )]
    UnresolvedFlag {
        metaphase: MetaphaseId,
        object: ObjectId,
        flag: ObjectFlag,
    },
    #[error("two-person rule: {signer} analysed this case and may not sign it")]
    SignerIsAnalyst { signer: String },
}

/// The rules `facts` do not meet; empty when the case may be signed.
pub fn unmet_rules(rules: &SignOffRules, facts: &SignOffFacts) -> Vec<UnmetRule> {
    let mut out = Vec::new();
    let has_reason = facts.reason.as_ref().is_some_and(|r| !r.trim().is_empty());
    if !has_reason {
        if facts.counted < rules.min_counted {
            out.push(UnmetRule::TooFewCounted {
                counted: facts.counted,
                min: rules.min_counted,
            });
        }
        if facts.analysed < rules.min_analysed {
            out.push(UnmetRule::TooFewAnalysed {
                analysed: facts.analysed,
                min: rules.min_analysed,
            });
        }
    }
    out.extend(facts.unresolved.iter().map(|&(metaphase, object, flag)| {
        UnmetRule::UnresolvedFlag {
            metaphase,
            object,
            flag,
        }
    }));
    if rules.two_person && facts.analysts.contains(&facts.signer) {
        out.push(UnmetRule::SignerIsAnalyst {
            signer: facts.signer.clone(),
        });
    }
    out
}

/// The unmet rules in a few lines: entropy flags grouped per metaphase.
pub fn describe_unmet(unmet: &[UnmetRule]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut open: std::collections::BTreeMap<MetaphaseId, Vec<ObjectId>> =
        std::collections::BTreeMap::new();
    for rule in unmet {
        match rule {
            UnmetRule::UnresolvedFlag {
                metaphase, object, ..
            } => {
                let objects = open.entry(*metaphase).or_default();
                if !objects.contains(object) {
                    objects.push(*object);
                }
            }
            other => parts.push(other.to_string()),
        }
    }
    for (metaphase, objects) in open {
        let list: Vec<String> = objects.iter().take(8).map(ToString::to_string).collect();
        let more = if objects.len() > 8 { ", ..." } else { "" };
        parts.push(format!(
            "metaphase {metaphase}: {} flagged objects neither corrected, rejected nor accepted ({}{more})",
            objects.len(),
            list.join(", ")
        ));
    }
    parts.join("; ")
}

/// What a review flag asks the reviewer to look at.
pub fn flag_text(flag: ObjectFlag) -> &'static str {
    match flag {
        ObjectFlag::HighEntropy => "uncertain class",
        ObjectFlag::PolarityUncertain => "uncertain polarity",
        ObjectFlag::HomologDiffers => "differs from its homolog",
        ObjectFlag::LongForClass => "long for its class",
        ObjectFlag::ShortForClass => "short for its class",
        ObjectFlag::Surplus => "extra copy",
        ObjectFlag::Unassigned => "fits no class",
        ObjectFlag::SplitFromCluster => "cut from a cluster",
        ObjectFlag::PossibleCluster => "may be several chromosomes",
        ObjectFlag::TouchesBorder => "touches the image border",
    }
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The hash of the first link of an audit chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an audit event: sha256 over the previous event's hash and the
/// event's canonical content (`prev_hash` + "\n" + `content`).
pub fn chain_hash(prev_hash: &str, content: &str) -> String {
    let mut bytes = Vec::with_capacity(prev_hash.len() + 1 + content.len());
    bytes.extend_from_slice(prev_hash.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(content.as_bytes());
    sha256_hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_need_twenty_counted_and_five_analysed_or_a_reason() {
        let rules = SignOffRules::default();
        let mut facts = SignOffFacts {
            counted: 3,
            analysed: 3,
            signer: "ann".into(),
            analysts: vec!["ann".into()],
            ..SignOffFacts::default()
        };
        assert_eq!(unmet_rules(&rules, &facts).len(), 2);
        facts.reason = Some("limited material".into());
        assert!(unmet_rules(&rules, &facts).is_empty());
        let two = SignOffRules {
            two_person: true,
            ..rules
        };
        assert_eq!(
            unmet_rules(&two, &facts),
            vec![UnmetRule::SignerIsAnalyst {
                signer: "ann".into()
            }]
        );
        facts
            .unresolved
            .push((MetaphaseId(1), ObjectId(4), ObjectFlag::HighEntropy));
        assert_eq!(unmet_rules(&SignOffRules::default(), &facts).len(), 1);
    }

    #[test]
    fn transitions() {
        assert!(CaseStatus::Draft.can_become(CaseStatus::Analysed));
        assert!(CaseStatus::InReview.can_become(CaseStatus::Signed));
        assert!(!CaseStatus::Signed.can_become(CaseStatus::InReview));
        assert!(CaseStatus::Signed.is_read_only());
        for s in ["draft", "analysed", "in_review", "signed", "amended"] {
            assert_eq!(CaseStatus::parse(s).map(CaseStatus::as_str), Some(s));
        }
    }

    #[test]
    fn chain_hash_depends_on_both_parts() {
        let a = chain_hash(GENESIS_HASH, "x");
        assert_ne!(a, chain_hash(GENESIS_HASH, "y"));
        assert_ne!(a, chain_hash(&a, "x"));
        assert_eq!(a.len(), 64);
    }
}
