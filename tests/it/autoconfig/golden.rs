//! One golden file per answer type. The renderers are pure, so UUIDs and error ids are fixed.

use mailward::autoconfig::render::{self, OutlookError, ProfileIds};
use mailward::dns::records::{RecordInput, mail_domain_records, render_json, render_zone};
use mailward::model::Address;

use super::{OUTLOOK_SCHEMA, get, golden, outlook_request, post, server_sets, settings, snapshot, state_with};

#[tokio::test]
async fn thunderbird_answers_match_golden_files() {
    let state = state_with(settings());
    let with_address = get(&state, "/mail/config-v1.1.xml?emailaddress=alice%40example.org", "autoconfig.example.org").await;
    assert_eq!(with_address.status, 200);
    assert_eq!(with_address.headers["content-type"], "application/xml; charset=utf-8");
    golden("thunderbird-example.org.xml", &with_address.body);
    let placeholder = get(&state, "/mail/config-v1.1.xml", "autoconfig.example.org").await;
    golden("thunderbird-placeholder.xml", &placeholder.body);
    let starttls = get(&state, "/mail/config-v1.1.xml?emailaddress=info%40shop.example.com", "autoconfig.shop.example.com").await;
    golden("thunderbird-starttls.xml", &starttls.body);
}

#[tokio::test]
async fn outlook_answers_match_golden_files() {
    let state = state_with(settings());
    let answer = post(&state, "/autodiscover/autodiscover.xml", "autodiscover.example.org", outlook_request("alice@example.org", OUTLOOK_SCHEMA)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["content-type"], "text/xml; charset=utf-8");
    golden("outlook-example.org.xml", &answer.body);
    let starttls = post(&state, "/autodiscover/autodiscover.xml", "autodiscover.shop.example.com", outlook_request("info@shop.example.com", OUTLOOK_SCHEMA)).await;
    golden("outlook-starttls.xml", &starttls.body);
    golden("outlook-error-601.xml", &render::outlook_error(OutlookError::ProviderNotAvailable, "1a2b3c4d", "2026-11-22T03:00:00Z"));
}

#[tokio::test]
async fn autodiscover_json_matches_golden_file() {
    let state = state_with(settings());
    let answer = get(&state, "/autodiscover/autodiscover.json?Email=alice%40example.org&Protocol=AutodiscoverV1", "example.org").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["content-type"], "application/json");
    golden("autodiscover.json", &answer.body);
}

#[test]
fn mobileconfig_matches_golden_file() {
    let snapshot = snapshot();
    let domain = snapshot.domain("example.org").unwrap();
    let ids = ProfileIds { profile_uuid: "8E0C3C36-5B4C-4D0E-9C55-7D1D5B0A6B11".into(), payload_uuid: "0B6F1C2E-2E7A-4B51-8E9B-3C5A0F9D7E22".into() };
    let profile = render::mobileconfig(domain, &Address::parse("alice@example.org").unwrap(), &ids).unwrap();
    golden("alice@example.org.mobileconfig", &profile);
}

#[test]
fn dns_records_match_golden_files() {
    let sets = server_sets();
    let records = mail_domain_records(&RecordInput { domain: "example.org", server_set: &sets[0], autoconfig_host: "autoconfig.example.net", mx_hosts: &["mx1.example.net".to_string(), "mx2.example.net".to_string()] });
    golden("dns-example.org.zone", &render_zone(&records));
    golden("dns-example.org.json", &render_json(&records));
}
