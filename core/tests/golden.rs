//! Golden vectors captured from HashiCorp memberlist 0.2.2 (Go), see
//! `golden/README.md`. Every vector must decode to what the Go side says it
//! holds, and re-encoding the decoded messages with the same layers and
//! nonce must give the captured bytes exactly.

use rumour::wire::packet::{self, Layers};
use rumour::wire::stream::{self, StreamMessage};
use rumour::wire::{Keyring, Message, NodeStateKind, PushNodeState};
use serde_json::{json, Value};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn manifest() -> Vec<Value> {
    let text = include_str!("golden/vectors.json");
    serde_json::from_str(text).expect("manifest is JSON")
}

fn layers_for(v: &Value) -> Layers {
    let keyring = v["key_hex"].as_str().map(|k| Keyring::new(&hex(k), &[]).unwrap());
    let layer_names: Vec<&str> = v["layers"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    Layers {
        label: String::new(),
        keyring,
        compress: layer_names.contains(&"compress"),
        verify_incoming: true,
        verify_outgoing: true,
    }
}

fn nonce_for(v: &Value) -> [u8; 12] {
    let mut out = [0u8; 12];
    for d in v["layer_details"].as_array().unwrap() {
        if let Some(n) = d["nonce_hex"].as_str() {
            out.copy_from_slice(&hex(n));
        }
    }
    out
}

fn ip(addr: &std::net::SocketAddr) -> String {
    addr.ip().to_string()
}

fn node_json(n: &PushNodeState) -> Value {
    json!({
        "Addr": ip(&n.addr), "Port": n.addr.port(), "Name": n.name, "Incarnation": n.incarnation,
        "Meta": String::from_utf8_lossy(&n.meta), "Vsn": n.vsn.to_vec(),
        "State": match n.state { NodeStateKind::Alive => 0, NodeStateKind::Suspect => 1, NodeStateKind::Dead => 2, NodeStateKind::Left => 3 },
    })
}

/// Our decoded message in the manifest's vocabulary.
fn packet_json(m: &Message) -> Value {
    match m {
        Message::Ping(p) => json!({"type": "ping", "fields": {
            "Node": p.node, "SeqNo": p.seq_no, "SourceNode": p.source_node,
            "SourceAddr": p.source.map(|s| ip(&s)), "SourcePort": p.source.map(|s| s.port())}}),
        Message::IndirectPing(i) => json!({"type": "indirectPing", "fields": {
            "Node": i.node, "SeqNo": i.seq_no, "Nack": i.nack, "Target": ip(&i.target), "Port": i.target.port(),
            "SourceNode": i.source_node, "SourceAddr": i.source.map(|s| ip(&s)), "SourcePort": i.source.map(|s| s.port())}}),
        Message::Ack(a) => json!({"type": "ackResp", "fields": {"SeqNo": a.seq_no}}),
        Message::Nack(n) => json!({"type": "nackResp", "fields": {"SeqNo": n.seq_no}}),
        Message::Suspect(s) => {
            json!({"type": "suspect", "fields": {"Incarnation": s.incarnation, "Node": s.node, "From": s.from}})
        }
        Message::Dead(d) => {
            json!({"type": "dead", "fields": {"Incarnation": d.incarnation, "Node": d.node, "From": d.from}})
        }
        Message::Alive(a) => json!({"type": "alive", "fields": {
            "Incarnation": a.incarnation, "Node": a.node, "Addr": ip(&a.addr), "Port": a.addr.port(),
            "Meta": String::from_utf8_lossy(&a.meta), "Vsn": a.vsn.to_vec()}}),
        Message::User(b) => json!({"type": "user", "payload": String::from_utf8_lossy(b)}),
    }
}

/// Every field the manifest states must equal ours.
fn assert_matches(file: &str, expected: &Value, ours: &Value) {
    assert_eq!(expected["type"], ours["type"], "{file}: message type");
    if let Some(fields) = expected["fields"].as_object() {
        for (k, want) in fields {
            if want.is_null() || (want.as_str() == Some("") && ours["fields"][k].is_null()) {
                continue;
            }
            assert_eq!(&ours["fields"][k], want, "{file}: field {k}");
        }
    }
    if let Some(p) = expected.get("payload") {
        assert_eq!(&ours["payload"], p, "{file}: payload");
    }
}

fn expected_packet_messages(v: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for m in v["messages"].as_array().unwrap() {
        match m["parts"].as_array() {
            Some(parts) => out.extend(parts.iter().cloned()),
            None => out.push(m.clone()),
        }
    }
    out
}

#[test]
fn every_go_packet_decodes_to_what_go_sent_and_reencodes_byte_for_byte() {
    let mut checked = 0;
    for v in manifest().iter().filter(|v| v["transport"] == "packet") {
        let file = v["file"].as_str().unwrap();
        let bytes = std::fs::read(format!("{}/tests/golden/vectors/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let layers = layers_for(v);
        let body = packet::open(&layers, &bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (msgs, errors) = packet::split(&body);
        assert!(errors.is_empty(), "{file}: {errors:?}");
        let expected = expected_packet_messages(v);
        assert_eq!(msgs.len(), expected.len(), "{file}: message count");
        for (m, e) in msgs.iter().zip(&expected) {
            assert_matches(file, e, &packet_json(m));
        }
        // Re-encode: the plaintext, then every layer with Go's nonce.
        let parts: Vec<Vec<u8>> = msgs.iter().map(Message::encode).collect();
        let plain = if v["messages"][0]["type"] == "compound" {
            rumour::wire::compound::encode(&parts)
        } else {
            parts[0].clone()
        };
        assert_eq!(plain, hex(v["plain_hex"].as_str().unwrap()), "{file}: plaintext re-encoding");
        let crc = v["layers"].as_array().unwrap().iter().any(|l| l == "crc");
        let mut reseal_layers = layers.clone();
        // Compression is used only when smaller; Go's choice shows in the layers.
        reseal_layers.compress = v["layers"].as_array().unwrap().iter().any(|l| l == "compress");
        assert_eq!(packet::seal(&reseal_layers, plain, crc, nonce_for(v)), bytes, "{file}: sealed bytes");
        checked += 1;
    }
    assert!(checked >= 19, "only {checked} packet vectors");
}

#[test]
fn every_go_stream_decodes_to_what_go_sent_and_reencodes_byte_for_byte() {
    let mut checked = 0;
    for v in manifest().iter().filter(|v| v["transport"] == "stream") {
        let file = v["file"].as_str().unwrap();
        let bytes = std::fs::read(format!("{}/tests/golden/vectors/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let layers = layers_for(v);
        let (msg, used) = stream::open(&layers, &bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(used, bytes.len(), "{file}: whole stream consumed");
        let e = &v["messages"][0];
        match &msg {
            StreamMessage::PushPull { join, nodes, user_state } => {
                assert_eq!(e["type"], "pushPull", "{file}");
                assert_eq!(e["fields"]["Join"], json!(join), "{file}");
                assert_eq!(e["fields"]["Nodes"], json!(nodes.len()), "{file}");
                let want_nodes = e["nodes"].as_array().unwrap();
                for (n, want) in nodes.iter().zip(want_nodes) {
                    let ours = node_json(n);
                    for (k, w) in want.as_object().unwrap() {
                        assert_eq!(&ours[k], w, "{file}: node field {k}");
                    }
                }
                assert_eq!(
                    String::from_utf8_lossy(user_state),
                    e["user_state"].as_str().unwrap_or(""),
                    "{file}: user state"
                );
            }
            StreamMessage::Ping(p) => assert_matches(file, e, &packet_json(&Message::Ping(p.clone()))),
            StreamMessage::Ack(a) => assert_matches(file, e, &packet_json(&Message::Ack(a.clone()))),
            StreamMessage::User(b) => {
                assert_eq!(e["type"], "user", "{file}");
                assert_eq!(json!(String::from_utf8_lossy(b)), e["payload"], "{file}");
            }
            StreamMessage::Err(text) => assert_eq!(json!(text), e["fields"]["Error"], "{file}"),
        }
        assert_eq!(stream::seal(&layers, &msg, nonce_for(v)), bytes, "{file}: sealed bytes");
        checked += 1;
    }
    assert!(checked >= 17, "only {checked} stream vectors");
}
