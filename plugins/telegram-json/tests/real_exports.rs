//! Every real Telegram Desktop export in shared/fixtures/public/telegram-json
//! (see its SOURCES.md), read by the adapter directly. What each holds was
//! read from the file by hand (Python's json module) and is stated in its
//! test; chat-miner's `target.json` is another project's expected parse of
//! its two exports, used as an oracle.

use chatferry_core::testing::{drain, public_fixture, Drained};
use chatferry_core::*;
use chatferry_plugin_telegram_json::TelegramJson;
use std::path::Path;

/// The importer read to its end, in batches of 7 (so batches end mid-chat).
pub fn read(path: &Path, options: &Options) -> Result<Drained> {
    drain(TelegramJson.open_importer(path, options)?.as_mut(), 7)
}

fn sample(name: &str, test: &str) -> Option<std::path::PathBuf> {
    public_fixture(&format!("telegram-json/chat-history-manager/{name}/result.json"), test)
}

fn utc() -> Options {
    Options::new().with("timezone", "UTC")
}

fn by_id<'a>(r: &'a Drained, id: &str) -> &'a Message {
    r.messages.iter().find(|m| m.id == id).unwrap_or_else(|| panic!("no message {id}"))
}

fn notes(r: &Drained) -> String {
    r.report.notes.join("\n")
}

/// 2020-01: a whole-account export from before 2021 (bare numeric ids, no
/// `date_unixtime`, `edited` on every message) with a basic group of 31
/// messages and three one-to-one chats (12, 5 and 2), one of them with a
/// deleted account (`name: null`, `from: null`).
#[test]
fn the_2020_account_export_reads_whole() {
    let Some(p) = sample("telegram_2020-01", "the_2020_account_export_reads_whole") else { return };
    let r = read(&p, &utc()).unwrap();
    assert_eq!(r.messages.len(), 50);
    let owner = r.header.owner.as_ref().unwrap();
    assert_eq!(owner.id, "user11111111");
    assert_eq!(owner.name.as_deref(), Some("Aaaaa Aaaaaaaaaaa"));
    assert_eq!(owner.phone.as_deref(), Some("+998911234567"));
    assert_eq!(owner.username.as_deref(), Some("frozenspider"));
    let kinds: Vec<(ChatKind, &str)> = r.chats.iter().map(|c| (c.kind, c.id.as_str())).collect();
    // The one-to-one chats are their person's (the chat ids of 2020 are offset).
    assert_eq!(
        kinds,
        [
            (ChatKind::Group, "chat8123123123"),
            (ChatKind::Direct, "user777777777"),
            (ChatKind::Direct, "user32507588"),
            (ChatKind::Direct, "user333333333")
        ]
    );
    assert_eq!(r.chats[2].title.as_deref(), Some("Deleted Account"));
    // The group's creation, with its members by name matched to ids.
    let created = by_id(&r, "chat8123123123:4720");
    let ev = created.system.as_ref().unwrap();
    assert_eq!((created.kind, ev.action.as_str()), (MessageKind::System, "group_created"));
    assert_eq!(ev.actor.as_deref(), Some("user22222222"));
    assert_eq!(ev.value.as_deref(), Some("ppppppp gggggg"));
    assert!(ev.targets.contains(&"user11111111".to_string()), "{:?}", ev.targets);
    // 2016-11-09T00:26:24 read in UTC, as asked.
    assert_eq!(created.timestamp_ms, 1_478_651_184_000);
    // Someone removing themselves left.
    assert_eq!(by_id(&r, "chat8123123123:4722").system.as_ref().unwrap().action, "member_left");
    // A reply, a forward, an edit, and a message never edited (epoch `edited`).
    let reply = by_id(&r, "chat8123123123:39740");
    assert_eq!(reply.reply_to.as_deref(), Some("chat8123123123:39739"));
    assert!(reply.from_me && !reply.edited);
    let fwd = by_id(&r, "chat8123123123:27100");
    assert!(fwd.forwarded);
    assert_eq!(fwd.extras.get("tg.fwd_from").map(String::as_str), Some("Uzbek-MDK"));
    let edited = by_id(&r, "chat8123123123:67346");
    assert!(edited.edited);
    assert_eq!(edited.edited_ms, Some(edited.timestamp_ms + 4000));
    // Text of mixed runs is their concatenation; the formatting is kept in extras.
    assert!(edited
        .text
        .as_deref()
        .unwrap()
        .starts_with("ох ты что нашёл) в группе по хс проскочило\nhttps://habr.com/post/335436/"));
    assert!(edited.extras.get("tg.entities").unwrap().contains("\"type\":\"link\""));
    // A voice note via a bot, whose file is absent from the sample.
    let voice = by_id(&r, "chat8123123123:10355");
    assert_eq!(voice.kind, MessageKind::Voice);
    assert!(voice.media.as_ref().unwrap().missing);
    assert_eq!(voice.extras.get("tg.via_bot").map(String::as_str), Some("@saytextbot"));
    // A placeholder instead of a file: missing, kind kept, wording kept.
    let left_out = by_id(&r, "chat8123123123:10699");
    assert!(left_out.media.as_ref().unwrap().missing);
    assert!(left_out.extras.get("tg.file_note").unwrap().starts_with("(File not included"));
    // A live location, a poll, contacts, calls.
    let loc = by_id(&r, "chat8123123123:129455");
    let l = loc.location.as_ref().unwrap();
    assert_eq!((l.latitude, l.longitude, l.live), (41.311194, 69.279725, true));
    let poll = by_id(&r, "chat8123123123:132894");
    assert_eq!(poll.kind, MessageKind::Poll);
    assert_eq!(poll.poll.as_ref().unwrap().question, "Вечерний Мудозвон – это...");
    let card = by_id(&r, "chat8123123123:74752");
    assert_eq!(card.kind, MessageKind::Contact);
    assert!(card.contact_card.as_ref().unwrap().vcard.as_ref().unwrap().contains("+7 910 041 13 85"));
    let missed = by_id(&r, "user777777777:40149");
    assert_eq!(missed.kind, MessageKind::Call);
    assert_eq!(missed.call.as_ref().unwrap().outcome.as_deref(), Some("missed"));
    assert!(!missed.from_me, "the other person called");
    let answered = by_id(&r, "user777777777:40163").call.as_ref().unwrap().clone();
    assert_eq!((answered.outcome.as_deref(), answered.duration_ms), (Some("answered"), Some(77_000)));
    // The five messages of one second keep the file's order.
    let same: Vec<&str> = r.messages.iter().filter(|m| m.chat == "user32507588").map(|m| m.id.as_str()).collect();
    assert_eq!(
        same,
        ["user32507588:24712", "user32507588:24713", "user32507588:24714", "user32507588:24715", "user32507588:24716"]
    );
    // The phone book pairs names to numbers as suggestions, never as ids.
    let vvvvv = r.contacts.iter().find(|c| c.id == "user777777777").unwrap();
    assert_eq!(vvvvv.extras.get("tg.phone_book").map(String::as_str), Some("+7 951 123 45 67, +7 910 765 43 21"));
    assert_eq!(vvvvv.phone, None);
    let n = notes(&r);
    assert!(n.contains("50 messages had no UTC time") && n.contains("read in UTC"), "{n}");
    // `edited: 1970-01-01T05:00:00` on messages never edited: the exporter was at UTC+5.
    assert!(n.contains("was at UTC+05:00"), "{n}");
    assert!(n.contains("11 files were not in the export"), "{n}");
}

/// 2021-06: a private supergroup of 4 messages (one service: a member
/// invited), ids as `user…` strings, still no `date_unixtime`.
#[test]
fn the_2021_supergroup_reads() {
    let Some(p) = sample("telegram_2021-06_supergroup", "the_2021_supergroup_reads") else { return };
    let r = read(&p, &utc()).unwrap();
    assert_eq!(r.messages.len(), 4);
    assert_eq!(r.chats[0].id, "channel1234567890");
    assert_eq!(r.chats[0].kind, ChatKind::Group);
    let invited = r.messages.iter().find(|m| m.kind == MessageKind::System).unwrap();
    assert_eq!(invited.system.as_ref().unwrap().action, "member_added");
    assert!(r.messages.iter().any(|m| m.kind == MessageKind::Contact));
}

/// 2023-01: a basic group upgraded to a supergroup: the old group's
/// messages with ids shifted by −10⁹, the upgrade's two service messages
/// (the second one second earlier than the first), `date_unixtime` at last.
#[test]
fn a_group_upgraded_to_a_supergroup_is_one_chat_in_file_order() {
    let Some(p) = sample("telegram_2023-01", "a_group_upgraded_to_a_supergroup_is_one_chat_in_file_order") else {
        return;
    };
    let r = read(&p, &Options::new()).unwrap();
    assert_eq!(r.chats.len(), 1);
    assert_eq!(r.messages.len(), 6);
    assert!(r.messages.iter().all(|m| m.chat == r.chats[0].id));
    assert!(r.messages[0].id.ends_with(":-999999999"), "{}", r.messages[0].id);
    let upgrades = r.messages.iter().filter(|m| m.extras.get("tg.action").is_some_and(|a| a.starts_with("migrate_")));
    assert_eq!(upgrades.count(), 2);
    assert!(!notes(&r).contains("no UTC time"), "every message has date_unixtime");
}

/// 2023-10: two audio files and two videos, each once without and once
/// with performer, title and length; the files are not in the sample.
#[test]
fn audio_and_video_keep_their_tags_and_lengths() {
    let Some(p) = sample("telegram_2023-10_audio-video", "audio_and_video_keep_their_tags_and_lengths") else { return };
    let r = read(&p, &Options::new()).unwrap();
    let kinds: Vec<MessageKind> = r.messages.iter().map(|m| m.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == MessageKind::Audio).count(), 2);
    assert_eq!(kinds.iter().filter(|k| **k == MessageKind::Video).count(), 2);
    let full = r.messages.iter().find(|m| m.id.ends_with(":11112")).unwrap();
    assert_eq!(full.kind, MessageKind::Audio);
    assert_eq!(full.extras.get("tg.performer").map(String::as_str), Some("Audio Performer"));
    assert_eq!(full.extras.get("tg.title").map(String::as_str), Some("Song Name"));
    let media = full.media.as_ref().unwrap();
    assert_eq!((media.duration_ms, media.mime.as_deref()), (Some(123_000), Some("audio/mpeg")));
    assert_eq!(full.text, None, "a file's text is its caption");
    assert_eq!(media.caption.as_deref(), Some("Audio file (full) message"));
    let video = r.messages.iter().find(|m| m.id.ends_with(":21111")).unwrap().media.clone().unwrap();
    assert_eq!((video.width, video.height, video.duration_ms), (Some(222), Some(333), Some(111_000)));
}

/// 2024-01: five bot messages with inline buttons; two have no text but
/// their buttons, which become their text.
#[test]
fn bot_buttons_are_kept_and_a_buttons_only_message_says_them() {
    let Some(p) = sample("telegram_2024-01_inline-bot-buttons", "bot_buttons_are_kept") else { return };
    let r = read(&p, &Options::new()).unwrap();
    assert_eq!(r.messages.len(), 5);
    assert!(r.messages.iter().all(|m| m.extras.contains_key("tg.inline_bot_buttons")));
    assert_eq!(r.messages[2].text.as_deref(), Some("🔘 Button link 1 — https://www.example.com/"));
    assert_eq!(r.messages[0].text.as_deref(), Some("Some initial bold text"));
    assert!(r.messages.iter().all(|m| m.kind == MessageKind::Text), "nothing is `other`");
}

/// 2024-05: a boost, a sticker (its file name given), a JPEG sent as a file.
#[test]
fn a_photo_sent_as_a_file_is_a_document_and_a_boost_is_said() {
    let Some(p) = sample("telegram_2024-05_boosts_file-name_etc", "a_photo_sent_as_a_file_is_a_document") else {
        return;
    };
    let r = read(&p, &Options::new()).unwrap();
    let doc = r.messages.iter().find(|m| m.kind == MessageKind::Document).unwrap();
    assert!(doc.media.as_ref().unwrap().file_name.is_some());
    assert!(r.messages.iter().any(|m| m.kind == MessageKind::Sticker && m.extras.contains_key("tg.sticker_emoji")));
    let boost = r.messages.iter().find(|m| m.kind == MessageKind::System).unwrap();
    assert_eq!(boost.system.as_ref().unwrap().action, "boosted_the_group");
    assert!(notes(&r).contains("holds only your own messages"), "{}", notes(&r));
}

/// 2024-08: a channel post signed by its author, a self-destructing photo
/// ("File unavailable"), an edit with `edited_unixtime`, a join by request.
#[test]
fn channel_posts_self_destructing_media_and_edits() {
    let Some(p) = sample("telegram_2024-08", "channel_posts_self_destructing_media_and_edits") else { return };
    let r = read(&p, &Options::new()).unwrap();
    let photo = r.messages.iter().find(|m| m.kind == MessageKind::Image).unwrap();
    assert!(photo.view_once && photo.media.as_ref().unwrap().missing);
    assert!(r.messages.iter().any(|m| m.extras.contains_key("tg.author")));
    assert!(r.messages.iter().any(|m| m.edited && m.edited_ms.is_some()));
    let join = r.messages.iter().find(|m| m.kind == MessageKind::System).unwrap();
    assert_eq!(join.system.as_ref().unwrap().action, "member_joined_by_link");
}

/// 2025-03: two service messages with photos (a group photo change and a
/// suggested profile photo) and their sizes; the change's picture is named,
/// and said not to be carried.
#[test]
fn service_photos_are_kept_with_the_event() {
    let Some(p) = sample("telegram_2025-03_service-photo-size", "service_photos_are_kept_with_the_event") else {
        return;
    };
    let r = read(&p, &Options::new()).unwrap();
    assert_eq!(r.messages.len(), 2);
    let changed = r.messages.iter().find(|m| m.system.as_ref().is_some_and(|s| s.action == "photo_changed")).unwrap();
    assert!(changed.extras.contains_key("tg.photo") && changed.media.is_none());
    assert!(
        notes(&r).contains("2 pictures of events (a new group photo, a suggested one) not carried"),
        "{}",
        notes(&r)
    );
    assert!(r.messages.iter().any(|m| m.system.as_ref().is_some_and(|s| s.action == "suggested_a_profile_photo")));
}

/// chat-miner's two reduced exports (one chat; an account with one chat)
/// hold no ids and no dates but `date_unixtime`; its target.json gives
/// author, time and text for both.
#[test]
fn chat_miners_exports_match_its_oracle() {
    let t = "chat_miners_exports_match_its_oracle";
    let (Some(single), Some(batch), Some(target)) = (
        public_fixture("telegram-json/chat-miner/test_single_export.json", t),
        public_fixture("telegram-json/chat-miner/test_batch_export.json", t),
        public_fixture("telegram-json/chat-miner/target.json", t),
    ) else {
        return;
    };
    let oracle: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(target).unwrap()).unwrap();
    for p in [single, batch] {
        let r = read(&p, &Options::new()).unwrap();
        assert_eq!(r.messages.len(), oracle.len());
        for (m, want) in r.messages.iter().zip(&oracle) {
            let author = m.sender.as_deref().and_then(|s| r.contacts.iter().find(|c| c.id == s)).unwrap();
            assert_eq!(author.name.as_deref(), want["author"].as_str());
            // chat-miner prints the time in UTC without a zone.
            assert_eq!(time::format_utc(m.timestamp_ms)[..19], want["timestamp"].as_str().unwrap()[..19]);
            // chat-miner joins a text's runs with a space ("Link:" + "https://…");
            // Telegram's text is the runs as they are (formats doc §4.2).
            let squeeze = |s: &str| s.split_whitespace().collect::<String>();
            assert_eq!(squeeze(m.text.as_deref().unwrap()), squeeze(want["message"].as_str().unwrap()));
        }
        assert!(notes(&r).contains("does not say which person is you"));
    }
}
