//! Message boundaries reported by the core match the messages that were sent, for any input
//! split and any mix of writing in place and taking batches.

use proptest::prelude::*;
use proto::{complete_message_len, Conn, Limits, Messages, Protocol};

fn encode(protocol: Protocol, message: &[u8]) -> Vec<u8> {
    match protocol {
        Protocol::Raw => message.to_vec(),
        Protocol::Line => {
            let mut l: Vec<u8> = message
                .iter()
                .map(|&b| if b == b'\n' { b' ' } else { b })
                .collect();
            l.push(b'\n');
            l
        }
        Protocol::Framed => {
            let mut f = (message.len() as u32).to_be_bytes().to_vec();
            f.extend_from_slice(message);
            f
        }
    }
}

#[test]
fn incomplete_messages_have_no_length() {
    assert_eq!(complete_message_len(Protocol::Line, b"abc"), None);
    assert_eq!(complete_message_len(Protocol::Line, b"ab\ncd"), Some(3));
    assert_eq!(complete_message_len(Protocol::Framed, &[0, 0, 0]), None);
    assert_eq!(
        complete_message_len(Protocol::Framed, &[0, 0, 0, 2, 9]),
        None
    );
    assert_eq!(
        complete_message_len(Protocol::Framed, &[0, 0, 0, 0, 9]),
        Some(4)
    );
    assert_eq!(complete_message_len(Protocol::Raw, b""), None);
    assert_eq!(complete_message_len(Protocol::Raw, b"xyz"), Some(3));
}

#[test]
fn the_tail_after_the_last_complete_message_is_the_remainder() {
    let mut walk = Messages::new(Protocol::Line, b"a\nbc\nde");
    assert_eq!(walk.next(), Some(&b"a\n"[..]));
    assert_eq!(walk.next(), Some(&b"bc\n"[..]));
    assert_eq!(walk.next(), None);
    assert_eq!(walk.remainder(), b"de");
}

proptest! {
    /// Every batch taken from the core splits into whole messages, and together they are the
    /// messages sent, in order.
    #[test]
    fn batches_split_into_exactly_the_messages_sent(
        protocol in prop::sample::select(vec![Protocol::Line, Protocol::Framed]),
        messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..30),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let encoded: Vec<Vec<u8>> = messages.iter().map(|m| encode(protocol, m)).collect();
        let input = encoded.concat();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut conn = Conn::new(protocol, Limits::default());
        let mut seen: Vec<Vec<u8>> = Vec::new();
        let mut prev = 0;
        for cut in cuts.into_iter().chain([input.len()]) {
            conn.receive(&input[prev..cut]).expect("valid input");
            prev = cut;
            let batch = conn.take_ready();
            let mut walk = Messages::new(protocol, &batch);
            seen.extend(walk.by_ref().map(<[u8]>::to_vec));
            prop_assert!(walk.remainder().is_empty());
        }
        prop_assert_eq!(seen.len() as u64, conn.counters().messages);
        prop_assert_eq!(seen, encoded);
    }

    /// `raw` has no boundaries: a batch is one message, whatever it holds.
    #[test]
    fn a_raw_batch_is_one_message(bytes in prop::collection::vec(any::<u8>(), 1..500)) {
        let walked: Vec<&[u8]> = Messages::new(Protocol::Raw, &bytes).collect();
        prop_assert_eq!(walked, vec![&bytes[..]]);
    }
}
