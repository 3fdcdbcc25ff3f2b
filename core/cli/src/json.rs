//! How members, map entries and events look in the API's JSON (and in
//! `--json` output): bytes as UTF-8 text when they are, else base64 under
//! a `_base64` name, so a script never meets mangled bytes.

use base64::Engine as _;
use rumour::{Event, Member, StateEntry};
use serde_json::{json, Map, Value};

/// Puts `bytes` in `obj` as `name` (text) or `name_base64`.
fn put_bytes(obj: &mut Map<String, Value>, name: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => obj.insert(name.into(), Value::String(text.into())),
        Err(_) => {
            obj.insert(format!("{name}_base64"), Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)))
        }
    };
}

/// A member: name, address, state, incarnation, metadata.
pub fn member_json(m: &Member) -> Value {
    let mut obj = Map::new();
    obj.insert("name".into(), json!(&*m.name));
    obj.insert("addr".into(), json!(m.addr.to_string()));
    obj.insert("state".into(), json!(m.state.as_str()));
    obj.insert("incarnation".into(), json!(m.incarnation));
    put_bytes(&mut obj, "meta", &m.meta);
    Value::Object(obj)
}

/// A replicated-map entry.
pub fn entry_json(e: &StateEntry) -> Value {
    let mut obj = Map::new();
    obj.insert("key".into(), json!(e.key));
    put_bytes(&mut obj, "value", &e.value);
    obj.insert("writer".into(), json!(e.writer));
    obj.insert("timestamp".into(), json!(e.timestamp.0));
    obj.insert("ephemeral".into(), json!(e.ephemeral));
    if let Some(at) = e.expires_unix_ms {
        obj.insert("expires_unix_ms".into(), json!(at));
    }
    Value::Object(obj)
}

/// An event, `{"event": kind, ...}`.
pub fn event_json(ev: &Event) -> Value {
    match ev {
        Event::MemberJoined(m)
        | Event::MemberUpdated(m)
        | Event::MemberSuspect(m)
        | Event::MemberRecovered(m)
        | Event::MemberFailed(m)
        | Event::MemberLeft(m) => {
            let mut v = member_json(m);
            let kind = ev.member_change().map_or("member", |(kind, _)| kind);
            v.as_object_mut().expect("an object").insert("event".into(), json!(kind));
            v
        }
        Event::Message { from, kind, payload } => {
            let mut obj = Map::new();
            obj.insert("event".into(), json!("message"));
            obj.insert("from".into(), json!(from));
            obj.insert("kind".into(), json!(kind.as_str()));
            put_bytes(&mut obj, "payload", payload);
            Value::Object(obj)
        }
        Event::RemoteState(bytes) => {
            let mut obj = Map::new();
            obj.insert("event".into(), json!("remote_state"));
            put_bytes(&mut obj, "state", bytes);
            Value::Object(obj)
        }
        Event::StateChanged(c) => {
            let mut obj = Map::new();
            obj.insert("event".into(), json!(if c.value.is_some() { "state_put" } else { "state_deleted" }));
            obj.insert("key".into(), json!(c.key));
            if let Some(v) = &c.value {
                put_bytes(&mut obj, "value", v);
            }
            obj.insert("writer".into(), json!(c.writer));
            obj.insert("timestamp".into(), json!(c.timestamp.0));
            Value::Object(obj)
        }
        Event::EventsLost(n) => json!({ "event": "events_lost", "count": n }),
        Event::Joined { via } => json!({ "event": "joined_cluster", "via": via.to_string() }),
        Event::JoinGaveUp { attempts, failures } => json!({
            "event": "join_gave_up",
            "attempts": attempts,
            "failures": failures.iter().map(|f| json!({ "seed": f.seed, "reason": f.reason })).collect::<Vec<_>>(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumour::SeedFailure;

    #[test]
    fn a_node_that_gave_up_joining_says_how_often_and_why() {
        let failures = vec![SeedFailure { seed: "10.0.0.1:7946".into(), reason: "connection refused".into() }];
        let v = event_json(&Event::JoinGaveUp { attempts: 5, failures });
        assert_eq!(
            v,
            json!({
                "event": "join_gave_up",
                "attempts": 5,
                "failures": [{ "seed": "10.0.0.1:7946", "reason": "connection refused" }],
            })
        );
    }
}
