//! Tests of the CTI decoder, encoder and session, with frames built by hand from the reference.

use super::decode::{msg_type, tag};
use super::*;
use proptest::prelude::*;

/// Test-only builder of server messages, written from the reference tables (independent of the
/// decoder): big-endian fields appended in order, floating fields as tag/length/data.
#[derive(Clone)]
pub(super) struct Wire {
    width: FieldWidth,
    msg_type: u32,
    body: Vec<u8>,
}

impl Wire {
    pub(super) fn new(msg_type: u32, width: FieldWidth) -> Self {
        Wire {
            width,
            msg_type,
            body: Vec::new(),
        }
    }
    pub(super) fn u16(mut self, v: u16) -> Self {
        self.body.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(super) fn u32(mut self, v: u32) -> Self {
        self.body.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(super) fn raw_field(mut self, tag: u16, len: u16, data: &[u8]) -> Self {
        match self.width {
            FieldWidth::Narrow => {
                self.body.push(tag as u8);
                self.body.push(len as u8);
            }
            FieldWidth::Wide => {
                self.body.extend_from_slice(&tag.to_be_bytes());
                self.body.extend_from_slice(&len.to_be_bytes());
            }
        }
        self.body.extend_from_slice(data);
        self
    }
    pub(super) fn field(self, tag: u16, data: &[u8]) -> Self {
        let len = data.len() as u16;
        self.raw_field(tag, len, data)
    }
    pub(super) fn string(self, tag: u16, s: &str) -> Self {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        self.field(tag, &data)
    }
    pub(super) fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.body.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.msg_type.to_be_bytes());
        out.extend_from_slice(&self.body);
        out
    }
}

/// AGENT_STATE_EVENT fixed part per §1.4 (62 bytes).
pub(super) fn agent_state_fixed(width: FieldWidth, state: u16, reason: u16, nflt: u16) -> Wire {
    Wire::new(30, width)
        .u32(0) // MonitorID
        .u32(5000) // PeripheralID
        .u32(0) // SessionID
        .u16(17) // PeripheralType
        .u16(state) // SkillGroupState
        .u32(12) // StateDuration
        .u32(0xFFFF_FFFF) // SkillGroupNumber
        .u32(0xFFFF_FFFF) // SkillGroupID
        .u16(0) // SkillGroupPriority
        .u16(state) // AgentState
        .u16(reason) // EventReasonCode
        .u32(1) // MRDID
        .u32(0) // NumTasks
        .u16(1) // AgentMode
        .u32(1) // MaxTaskLimit
        .u32(5101) // ICMAgentID
        .u32(1) // AgentAvailabilityStatus
        .u16(nflt) // NumFltSkillGroups
        .u32(7) // DepartmentID
}

/// A full AGENT_STATE_EVENT with ids, two floating skill groups.
pub(super) fn agent_state_frame(width: FieldWidth, agent_id: &str, state: u16) -> Vec<u8> {
    agent_state_fixed(width, state, 0, 2)
        .string(5, agent_id)
        .string(4, "4001")
        .string(6, "4001")
        .field(62, &100u32.to_be_bytes())
        .field(63, &5001u32.to_be_bytes())
        .field(64, &1u16.to_be_bytes())
        .field(65, &state.to_be_bytes())
        .field(62, &200u32.to_be_bytes())
        .field(63, &5002u32.to_be_bytes())
        .field(64, &2u16.to_be_bytes())
        .field(65, &2u16.to_be_bytes())
        .bytes()
}

fn both() -> [FieldWidth; 2] {
    [FieldWidth::Wide, FieldWidth::Narrow]
}

#[test]
fn agent_state_event_golden_frame_decodes_in_both_field_widths() {
    for width in both() {
        let frame = agent_state_frame(width, "1001", 4);
        let hdr_len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        assert_eq!(
            hdr_len,
            frame.len() - 8,
            "MessageLength excludes the header"
        );
        let Message::AgentState(ev) = decode_frame(&frame, width).unwrap() else {
            panic!("not an agent state event");
        };
        assert_eq!(ev.peripheral_id, 5000);
        assert_eq!(ev.agent_state, AgentState::Talking);
        assert_eq!(ev.state_duration, 12);
        assert_eq!(ev.icm_agent_id, 5101);
        assert_eq!(ev.department_id, 7);
        assert_eq!(ev.agent_id.as_deref(), Some("1001"));
        assert_eq!(ev.agent_extension.as_deref(), Some("4001"));
        assert_eq!(ev.agent_instrument.as_deref(), Some("4001"));
        assert_eq!(ev.num_flt_skill_groups, 2);
        assert_eq!(
            ev.skill_groups,
            vec![
                SkillGroup {
                    number: Some(100),
                    id: Some(5001),
                    priority: 1,
                    state: Some(AgentState::Talking),
                    max_beyond_task_limit: None,
                },
                SkillGroup {
                    number: Some(200),
                    id: Some(5002),
                    priority: 2,
                    state: Some(AgentState::NotReady),
                    max_beyond_task_limit: None,
                },
            ]
        );
    }
}

#[test]
fn agent_state_event_without_floating_groups_uses_the_fixed_skill_group() {
    let mut w = Wire::new(30, FieldWidth::Wide);
    w.body = agent_state_fixed(FieldWidth::Wide, 2, 33, 0).body;
    // Patch SkillGroupNumber (offset 20), SkillGroupID (24) and priority (28).
    w.body[20..24].copy_from_slice(&77u32.to_be_bytes());
    w.body[24..28].copy_from_slice(&5077u32.to_be_bytes());
    w.body[28..30].copy_from_slice(&3u16.to_be_bytes());
    let w = w
        .field(150, &300u32.to_be_bytes())
        .field(123, &3u16.to_be_bytes())
        .field(244, &1u32.to_be_bytes())
        .string(194, "long.agent.id")
        .string(303, "SEP00112233")
        .field(999, b"ignored");
    let Message::AgentState(ev) = decode_frame(&w.bytes(), FieldWidth::Wide).unwrap() else {
        panic!("not an agent state event");
    };
    assert_eq!(ev.agent_state, AgentState::NotReady);
    assert_eq!(ev.reason_code, 33);
    assert_eq!(ev.duration, Some(300));
    assert_eq!(ev.next_agent_state, Some(AgentState::Available));
    assert_eq!(ev.direction, Some(1));
    assert_eq!(ev.agent_id.as_deref(), Some("long.agent.id"));
    assert_eq!(ev.active_terminal.as_deref(), Some("SEP00112233"));
    assert_eq!(
        ev.skill_groups,
        vec![SkillGroup {
            number: Some(77),
            id: Some(5077),
            priority: 3,
            state: Some(AgentState::NotReady),
            max_beyond_task_limit: None,
        }]
    );
}

#[test]
fn every_reference_agent_state_value_maps_and_unknown_values_are_kept() {
    let expected = [
        AgentState::Login,
        AgentState::Logout,
        AgentState::NotReady,
        AgentState::Available,
        AgentState::Talking,
        AgentState::WorkNotReady,
        AgentState::WorkReady,
        AgentState::BusyOther,
        AgentState::Reserved,
        AgentState::StateUnknown,
        AgentState::Hold,
        AgentState::Active,
        AgentState::Paused,
        AgentState::Interrupted,
        AgentState::NotActive,
    ];
    for (n, state) in expected.iter().enumerate() {
        assert_eq!(AgentState::from_u16(n as u16), *state);
        assert_eq!(state.to_u16(), n as u16);
    }
    let frame = agent_state_fixed(FieldWidth::Wide, 42, 0, 0).bytes();
    let Message::AgentState(ev) = decode_frame(&frame, FieldWidth::Wide).unwrap() else {
        panic!("not an agent state event");
    };
    assert_eq!(ev.agent_state, AgentState::Unknown(42));
    assert_eq!(AgentState::Unknown(42).to_u16(), 42);
}

#[test]
fn session_messages_golden_frames_decode() {
    for width in both() {
        let failure = Wire::new(1, width).u32(9).u32(36).bytes();
        assert_eq!(failure.len(), 16);
        assert_eq!(
            decode_frame(&failure, width).unwrap(),
            Message::FailureConf {
                invoke_id: 9,
                status: 36
            }
        );
        let event = Wire::new(2, width).u32(15).bytes();
        assert_eq!(
            decode_frame(&event, width).unwrap(),
            Message::FailureEvent { status: 15 }
        );
        let hb = Wire::new(6, width).u32(77).bytes();
        assert_eq!(
            decode_frame(&hb, width).unwrap(),
            Message::HeartbeatConf { invoke_id: 77 }
        );
        let close = Wire::new(8, width).u32(78).bytes();
        assert_eq!(
            decode_frame(&close, width).unwrap(),
            Message::CloseConf { invoke_id: 78 }
        );
        let sys = Wire::new(31, width)
            .u32(0)
            .u32(1_700_000_000)
            .u32(4)
            .u32(5000)
            .u32(0)
            .u32(0)
            .u16(0)
            .string(7, "peripheral offline")
            .bytes();
        let Message::SystemEvent(ev) = decode_frame(&sys, width).unwrap() else {
            panic!("not a system event");
        };
        assert_eq!((ev.event_id, ev.arg1), (4, 5000));
        assert_eq!(ev.text.as_deref(), Some("peripheral offline"));
    }
}

#[test]
fn failure_conf_with_the_pv24_guide_layout_reads_the_ushort_status() {
    let frame = Wire::new(1, FieldWidth::Wide).u32(3).u16(36).u32(0).bytes();
    assert_eq!(
        decode_frame(&frame, FieldWidth::Wide).unwrap(),
        Message::FailureConf {
            invoke_id: 3,
            status: 36
        }
    );
}

pub(super) fn open_conf(width: FieldWidth, invoke_id: u32) -> Wire {
    let w = Wire::new(4, width)
        .u32(invoke_id)
        .u32(0x10) // ServicesGranted
        .u32(1) // MonitorID
        .u32(0) // PGStatus
        .u32(1_700_000_000) // time
        .u16(1) // PeripheralOnline
        .u16(17) // PeripheralType
        .u16(9) // AgentState
        .u32(3); // DepartmentID
    if width == FieldWidth::Wide {
        w.u16(1) // SessionType active
            .field(228, &1u16.to_be_bytes())
            .field(208, &5000u32.to_be_bytes())
    } else {
        w
    }
}

#[test]
fn open_conf_decodes_fixed_part_session_type_and_peripherals() {
    let frame = open_conf(FieldWidth::Wide, 1).bytes();
    let Message::OpenConf(conf) = decode_frame(&frame, FieldWidth::Wide).unwrap() else {
        panic!("not OPEN_CONF");
    };
    assert_eq!(conf.invoke_id, 1);
    assert_eq!(conf.services_granted, 0x10);
    assert!(conf.peripheral_online);
    assert_eq!(conf.session_type, Some(1));
    assert_eq!(conf.num_peripherals, Some(1));
    assert_eq!(conf.peripheral_ids, vec![5000]);
    let frame = open_conf(FieldWidth::Narrow, 2).bytes();
    let Message::OpenConf(conf) = decode_frame(&frame, FieldWidth::Narrow).unwrap() else {
        panic!("not OPEN_CONF");
    };
    assert_eq!((conf.invoke_id, conf.session_type), (2, None));
}

#[test]
fn every_truncation_of_every_golden_frame_is_an_error_not_a_panic() {
    for width in both() {
        let frames = [
            agent_state_frame(width, "1001", 3),
            open_conf(width, 1).bytes(),
            Wire::new(1, width).u32(1).u32(36).bytes(),
            Wire::new(6, width).u32(1).bytes(),
        ];
        for frame in frames {
            for cut in 0..frame.len() {
                let short = &frame[..cut];
                assert!(decode_frame(short, width).is_err(), "cut at {cut}");
                assert_eq!(split_frame(short).unwrap(), None, "cut at {cut}");
            }
            // A body shortened consistently (length patched) must fail too, except where the
            // cut lands between whole floating fields.
            for cut in 8..frame.len() {
                let mut patched = frame[..cut].to_vec();
                patched[..4].copy_from_slice(&((cut - 8) as u32).to_be_bytes());
                let _ = decode_frame(&patched, width);
            }
        }
    }
}

#[test]
fn fixed_part_truncated_names_the_message_and_offset() {
    let full = agent_state_fixed(FieldWidth::Wide, 3, 0, 0);
    let mut w = Wire::new(30, FieldWidth::Wide);
    w.body = full.body[..40].to_vec();
    let err = decode_frame(&w.bytes(), FieldWidth::Wide).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Truncated {
            what: "AGENT_STATE_EVENT",
            offset: 38,
            need: 4,
            have: 2
        }
    );
}

#[test]
fn length_zero_and_four_gib_are_rejected_before_any_allocation() {
    let zero = [0, 0, 0, 0, 0, 0, 0, 30];
    assert_eq!(
        decode_frame(&zero, FieldWidth::Wide).unwrap_err(),
        DecodeError::EmptyMessage { msg_type: 30 }
    );
    let huge = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 30];
    assert!(matches!(
        decode_frame(&huge, FieldWidth::Wide).unwrap_err(),
        DecodeError::TooLong { len: u32::MAX, .. }
    ));
    let mut buf = FrameBuffer::new();
    buf.push(&huge);
    assert!(buf.next_frame().is_err());
    // Exactly the maximum is accepted, one more byte is not.
    let max = (MAX_MESSAGE_LEN - 8) as u32;
    assert!(parse_header(&[&max.to_be_bytes()[..], &[0, 0, 0, 99]].concat()).is_ok());
    let over = max + 1;
    assert!(parse_header(&[&over.to_be_bytes()[..], &[0, 0, 0, 99]].concat()).is_err());
}

#[test]
fn floating_field_overrun_is_an_error_naming_the_tag() {
    for width in both() {
        let frame = agent_state_fixed(width, 3, 0, 0)
            .string(5, "1001")
            .raw_field(4, 40, b"4001\0")
            .bytes();
        let err = decode_frame(&frame, width).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::FieldOverrun {
                    tag: 4,
                    len: 40,
                    remaining: 5,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("tag 4"), "{err}");
    }
}

#[test]
fn floating_field_with_a_wrong_integer_length_is_an_error_naming_the_tag() {
    let frame = agent_state_fixed(FieldWidth::Wide, 3, 0, 1)
        .field(62, &[0, 1])
        .bytes();
    let err = decode_frame(&frame, FieldWidth::Wide).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::FieldLength {
            tag: 62,
            len: 2,
            ..
        }
    ));
}

#[test]
fn unknown_message_types_are_skipped_by_length() {
    let unknown = Wire::new(231, FieldWidth::Wide)
        .u32(1)
        .u32(2)
        .u16(3)
        .bytes();
    assert_eq!(
        decode_frame(&unknown, FieldWidth::Wide).unwrap(),
        Message::Unknown {
            msg_type: 231,
            len: 10
        }
    );
    let next = Wire::new(6, FieldWidth::Wide).u32(5).bytes();
    let mut buf = FrameBuffer::new();
    buf.push(&[unknown.clone(), next].concat());
    let (h, _) = buf.next_frame().unwrap().unwrap();
    assert_eq!(h.msg_type, 231);
    let (h, body) = buf.next_frame().unwrap().unwrap();
    assert_eq!(
        decode_body(h, body, FieldWidth::Wide).unwrap(),
        Message::HeartbeatConf { invoke_id: 5 }
    );
    assert!(buf.next_frame().unwrap().is_none());
    assert_eq!(buf.pending(), 0);
}

#[test]
fn frame_buffer_reassembles_frames_split_at_every_byte() {
    let a = agent_state_frame(FieldWidth::Wide, "1001", 3);
    let b = Wire::new(6, FieldWidth::Wide).u32(5).bytes();
    let stream = [a.clone(), b.clone(), a].concat();
    for chunk in 1..stream.len() {
        let mut buf = FrameBuffer::new();
        let mut types = Vec::new();
        for piece in stream.chunks(chunk) {
            buf.push(piece);
            while let Some((h, _)) = buf.next_frame().unwrap() {
                types.push(h.msg_type);
            }
        }
        assert_eq!(types, vec![30, 6, 30], "chunk {chunk}");
        assert_eq!(buf.pending(), 0);
    }
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[test]
fn open_req_has_the_reference_layout_in_both_widths() {
    for (version, width) in [(24, FieldWidth::Wide), (17, FieldWidth::Narrow)] {
        let req = OpenReq {
            invoke_id: 1,
            version,
            idle_timeout_secs: 120,
            services: SERVICE_ALL_EVENTS,
            call_msg_mask: 0,
            agent_state_mask: encode::AGENT_STATE_MASK_PV24,
            client_id: "wfm",
            client_password: b"pw",
        };
        let b = encode_open_req(&req).unwrap();
        assert_eq!(read_u32(&b, 0) as usize, b.len() - 8);
        assert_eq!(read_u32(&b, 4), msg_type::OPEN_REQ);
        let body = &b[8..];
        assert_eq!(read_u32(body, 0), 1);
        assert_eq!(read_u32(body, 4), version);
        assert_eq!(read_u32(body, 8), 120);
        assert_eq!(read_u32(body, 12), 0xFFFF_FFFF);
        assert_eq!(read_u32(body, 16), 0x10);
        assert_eq!(read_u32(body, 24), 0x3FF);
        assert_eq!(&body[28..44], &[0u8; 16]);
        let fields: Vec<_> = FloatingFields::new(&body[44..], 44, width)
            .map(|f| f.unwrap())
            .map(|f| (f.tag, f.data.to_vec()))
            .collect();
        assert_eq!(
            fields,
            vec![
                (tag::CLIENT_ID, b"wfm\0".to_vec()),
                (tag::CLIENT_PASSWORD, b"pw".to_vec())
            ]
        );
        assert!(!format!("{req:?}").contains("pw\""));
    }
}

#[test]
fn open_req_rejects_overlong_client_id_and_password() {
    let long = "x".repeat(64);
    let mut req = OpenReq {
        invoke_id: 1,
        version: 24,
        idle_timeout_secs: 120,
        services: SERVICE_ALL_EVENTS,
        call_msg_mask: 0,
        agent_state_mask: 0x3FF,
        client_id: &long,
        client_password: b"",
    };
    assert!(encode_open_req(&req).is_err());
    req.client_id = "";
    assert_eq!(encode_open_req(&req).unwrap_err(), EncodeError::BadClientId);
    req.client_id = "ok";
    let pw = [b'p'; 65];
    req.client_password = &pw;
    assert!(encode_open_req(&req).is_err());
}

#[test]
fn heartbeat_and_close_req_layouts() {
    assert_eq!(
        encode_heartbeat_req(7),
        vec![0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 7]
    );
    assert_eq!(
        encode_close_req(8, 0),
        vec![0, 0, 0, 8, 0, 0, 0, 7, 0, 0, 0, 8, 0, 0, 0, 0]
    );
}

fn decode_stream(bytes: &[u8], width: FieldWidth) -> usize {
    let mut buf = FrameBuffer::new();
    buf.push(bytes);
    let mut n = 0;
    while let Ok(Some((h, body))) = buf.next_frame() {
        let _ = decode_body(h, body, width);
        n += 1;
    }
    n
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        for width in both() {
            let _ = decode_frame(&bytes, width);
            decode_stream(&bytes, width);
        }
    }

    #[test]
    fn mutated_golden_frames_never_panic(
        pos in proptest::collection::vec(any::<usize>(), 1..6),
        vals in proptest::collection::vec(any::<u8>(), 6),
        cut in any::<usize>(),
        wide in any::<bool>(),
        which in 0usize..4,
    ) {
        let width = if wide { FieldWidth::Wide } else { FieldWidth::Narrow };
        let mut frame = match which {
            0 => agent_state_frame(width, "1001", 3),
            1 => open_conf(width, 1).bytes(),
            2 => Wire::new(31, width).u32(0).u32(0).u32(3).u32(1).u32(0).u32(0).u16(0).string(7, "x").bytes(),
            _ => Wire::new(1, width).u32(1).u32(36).bytes(),
        };
        for (p, v) in pos.iter().zip(vals.iter()) {
            let at = p % frame.len();
            frame[at] = *v;
        }
        frame.truncate(cut % (frame.len() + 1));
        let _ = decode_frame(&frame, width);
        decode_stream(&frame, width);
    }
}

/// Decoder throughput: `cargo test --release -p wfm-sources cti_decode_throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn cti_decode_throughput() {
    let frame = agent_state_frame(FieldWidth::Wide, "1001", 4);
    let n = 5_000_000u32;
    let start = std::time::Instant::now();
    let mut states = 0u64;
    for _ in 0..n {
        if let Ok(Message::AgentState(ev)) =
            decode_frame(std::hint::black_box(&frame), FieldWidth::Wide)
        {
            states += u64::from(ev.agent_state.to_u16());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(states, 4 * u64::from(n));
    println!(
        "decoded {n} AGENT_STATE_EVENT frames ({} bytes each) in {secs:.3} s: {:.0} frames/s",
        frame.len(),
        f64::from(n) / secs
    );
}

mod session;
