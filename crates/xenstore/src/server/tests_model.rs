//! Transactions against a model: a committed transaction must be the same
//! as running its requests at once at commit time (same replies, same
//! resulting store); an aborted or conflicting one changes nothing; and one
//! that nothing else overlapped always commits.

use super::tests::{p, wr};
use super::*;
use crate::wire::XsError::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

type Model = BTreeMap<String, String>;

#[derive(Debug, Clone)]
enum Op {
    Write(String, String),
    Rm(String),
    Read(String),
}

#[derive(Debug, Clone)]
enum Step {
    Direct(Op),
    Start(usize),
    InTx(usize, Op),
    End(usize, bool),
}

fn parents(path: &str) -> Vec<String> {
    let mut v = Vec::new();
    let mut q = crate::path::parent(path);
    while let Some(a) = q {
        if a == "/t" {
            break;
        }
        v.push(a.to_string());
        q = crate::path::parent(a);
    }
    v
}

/// Dom0's view: what xenstored answers, as a map.
fn model_apply(m: &mut Model, op: &Op) -> Result<Vec<u8>, XsError> {
    match op {
        Op::Write(path, val) => {
            for a in parents(path) {
                m.entry(a).or_default();
            }
            m.insert(path.clone(), val.clone());
            Ok(b"OK\0".to_vec())
        }
        Op::Rm(path) => {
            if m.contains_key(path) {
                m.retain(|k, _| !crate::path::is_under(k, path));
                Ok(b"OK\0".to_vec())
            } else {
                let parent = crate::path::parent(path).unwrap_or("/");
                if parent == "/t" || m.contains_key(parent) {
                    Ok(b"OK\0".to_vec())
                } else {
                    Err(ENOENT)
                }
            }
        }
        Op::Read(path) => m.get(path).map(|v| v.clone().into_bytes()).ok_or(ENOENT),
    }
}

fn payload(op: &Op) -> (MsgType, Vec<u8>) {
    match op {
        Op::Write(path, val) => (MsgType::Write, wr(path, val)),
        Op::Rm(path) => (MsgType::Rm, p(path)),
        Op::Read(path) => (MsgType::Read, p(path)),
    }
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let path = "[ab]{1}(/[ab]{1}){0,2}".prop_map(|s| format!("/t/{s}"));
    prop_oneof![
        (path.clone(), "[xyz]{0,2}").prop_map(|(p, v)| Op::Write(p, v)),
        path.clone().prop_map(Op::Rm),
        path.prop_map(Op::Read),
    ]
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => op_strategy().prop_map(Step::Direct),
        1 => (0usize..2).prop_map(Step::Start),
        4 => ((0usize..2), op_strategy()).prop_map(|(t, o)| Step::InTx(t, o)),
        1 => ((0usize..2), any::<bool>()).prop_map(|(t, c)| Step::End(t, c)),
    ]
}

/// An open transaction: its id, its requests with the replies they got,
/// and whether anything else changed the store since it started.
struct Open {
    id: u32,
    ops: Vec<(Op, Result<Vec<u8>, XsError>)>,
    overlapped: bool,
}

fn check_store(s: &mut Server, c: ConnId, m: &Model, base_nodes: usize) -> Result<(), TestCaseError> {
    for (k, v) in m {
        prop_assert_eq!(s.request(c, MsgType::Read, 0, p(k)), Ok(v.clone().into_bytes()), "{}", k);
    }
    prop_assert_eq!(s.node_count(), base_nodes + m.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn transactions_match_a_serial_model(steps in proptest::collection::vec(step_strategy(), 1..80)) {
        let mut s = Server::default();
        let d0 = s.connect(0, true);
        s.write_as(d0, "/t", b"").unwrap();
        let conns = [s.connect(0, true), s.connect(0, true)];
        let base_nodes = s.node_count();
        let mut model = Model::new();
        let mut open: [Option<Open>; 2] = [None, None];
        for step in steps {
            match step {
                Step::Direct(op) => {
                    let (ty, pl) = payload(&op);
                    let got = s.request(d0, ty, 0, pl);
                    prop_assert_eq!(&got, &model_apply(&mut model, &op), "{:?}", op);
                    if !matches!(op, Op::Read(_)) {
                        for o in open.iter_mut().flatten() {
                            o.overlapped = true;
                        }
                    }
                }
                Step::Start(t) => {
                    if open[t].is_none() {
                        let id = s.request(conns[t], MsgType::TransactionStart, 0, p("")).unwrap();
                        let id = String::from_utf8(id[..id.len() - 1].to_vec()).unwrap().parse().unwrap();
                        open[t] = Some(Open { id, ops: Vec::new(), overlapped: false });
                    }
                }
                Step::InTx(t, op) => {
                    if let Some(o) = &mut open[t] {
                        let (ty, pl) = payload(&op);
                        let got = s.request(conns[t], ty, o.id, pl);
                        o.ops.push((op, got));
                    }
                }
                Step::End(t, commit) => {
                    let Some(o) = open[t].take() else { continue };
                    let arg = if commit { "T" } else { "F" };
                    let got = s.request(conns[t], MsgType::TransactionEnd, o.id, p(arg));
                    let writes = o.ops.iter().any(|(op, r)| !matches!(op, Op::Read(_)) && r.is_ok());
                    if commit && got == Ok(b"OK\0".to_vec()) {
                        // Serializable at commit: replaying gives the same
                        // replies, and the store becomes the replay's.
                        let mut replay = model.clone();
                        for (op, r) in &o.ops {
                            prop_assert_eq!(r, &model_apply(&mut replay, op), "replayed {:?}", op);
                        }
                        model = replay;
                        if writes {
                            for other in open.iter_mut().flatten() {
                                other.overlapped = true;
                            }
                        }
                    } else if commit {
                        prop_assert_eq!(&got, &Err(EAGAIN));
                        prop_assert!(o.overlapped, "conflict without anything overlapping");
                    } else {
                        prop_assert_eq!(got, Ok(b"OK\0".to_vec()));
                    }
                }
            }
            check_store(&mut s, d0, &model, base_nodes)?;
        }
    }
}
