use super::*;

fn name(attrs: &[(der::asn1::ObjectIdentifier, Tag, &[u8])]) -> Name {
    let mut seq = RdnSequence::default();
    for (oid, tag, value) in attrs {
        let atv = AttributeTypeAndValue {
            oid: *oid,
            value: Any::new(*tag, value.to_vec()).unwrap(),
        };
        seq.push(RelativeDistinguishedName::try_from(vec![atv]).unwrap());
    }
    Name::hazmat_from_rdn_sequence(seq)
}

const CN: der::asn1::ObjectIdentifier = oid::COMMON_NAME;
const O: der::asn1::ObjectIdentifier = oid::ORGANIZATION;

#[test]
fn names_and_groups_are_bounded() {
    let many = (0..=MAX_GROUPS).map(|i| format!("g{i}"));
    let err = Identity::new("u", many).unwrap_err();
    assert!(err.to_string().contains("at most 256 groups"), "{err}");
    assert!(Identity::new("u", (0..MAX_GROUPS).map(|i| format!("g{i}"))).is_ok());
    let long = "a".repeat(MAX_NAME_BYTES + 1);
    let err = Identity::new(long.as_str(), Vec::<String>::new()).unwrap_err();
    assert!(err.to_string().contains("1025 bytes"), "{err}");
    assert!(
        err.to_string().len() < 300,
        "the message repeats the whole name"
    );
    assert!(matches!(
        Identity::new("u", [long]),
        Err(crate::Error::InvalidName { .. })
    ));
    assert!(Identity::new("a".repeat(MAX_NAME_BYTES), Vec::<String>::new()).is_ok());
}

#[test]
fn the_last_cn_is_the_user_as_go_reads_it() {
    let r = SubjectReading::of(&name(&[
        (CN, Tag::Utf8String, b"gitlab-admin"),
        (O, Tag::Utf8String, b"g1"),
        (CN, Tag::PrintableString, b"system:kube-controller-manager"),
        (O, Tag::PrintableString, b"g2"),
    ]));
    assert_eq!(r.user, "system:kube-controller-manager");
    assert_eq!(r.groups, ["g1", "g2"]);
    assert_eq!(r.common_names.len(), 2);
    assert!(matches!(
        r.problems[0],
        SubjectProblem::SeveralCommonNames { .. }
    ));
    assert!(matches!(
        r.check_signable(),
        Err(crate::Error::AmbiguousSubject { .. })
    ));
}

#[test]
fn a_clean_subject_is_signable() {
    let r = SubjectReading::of(&name(&[
        (CN, Tag::Utf8String, b"u"),
        (O, Tag::Utf8String, b"g"),
    ]));
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert!(r.check_signable().is_ok());
}

#[test]
fn no_cn_or_an_empty_one_means_no_user() {
    for attrs in [
        vec![(O, Tag::Utf8String, &b"g"[..])],
        vec![(CN, Tag::Utf8String, &b""[..])],
    ] {
        let r = SubjectReading::of(&name(&attrs));
        assert_eq!(r.user, "");
        assert_eq!(r.problems[0], SubjectProblem::NoCommonName);
    }
}

#[test]
fn bmp_strings_decode_like_go_and_are_still_refused_for_signing() {
    let bmp: Vec<u8> = "system:masters"
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    let r = SubjectReading::of(&name(&[
        (CN, Tag::Utf8String, b"u"),
        (O, Tag::BmpString, &bmp),
    ]));
    assert_eq!(r.groups, ["system:masters"]);
    assert!(matches!(r.problems[0], SubjectProblem::StringType { .. }));
    let odd = SubjectReading::of(&name(&[(CN, Tag::BmpString, b"abc")]));
    assert!(
        odd.problems.iter().any(
            |p| matches!(p, SubjectProblem::StringType { reason, .. } if reason.contains("odd"))
        )
    );
}

#[test]
fn values_go_refuses_are_flagged() {
    for (tag, bytes) in [
        (Tag::Utf8String, &b"\xff\xfe"[..]),
        (Tag::PrintableString, &b"a@b"[..]),
        (Tag::Ia5String, &b"\xc3\xa9"[..]),
        (Tag::NumericString, &b"12a"[..]),
    ] {
        let r = SubjectReading::of(&name(&[(CN, Tag::Utf8String, b"u"), (O, tag, bytes)]));
        assert!(
            r.problems
                .iter()
                .any(|p| matches!(p, SubjectProblem::StringType { .. })),
            "{tag:?}"
        );
    }
}

#[test]
fn control_bidi_and_invisible_characters_are_deceptive() {
    for c in [
        '\u{1b}',
        '\0',
        '\u{202e}',
        '\u{200b}',
        '\u{ad}',
        '\u{180e}',
        '\u{e0041}',
        '\u{85}',
    ] {
        assert!(is_deceptive(c), "{c:?}");
        let v = format!("a{c}b");
        let r = SubjectReading::of(&name(&[(CN, Tag::Utf8String, v.as_bytes())]));
        assert!(
            matches!(r.problems[0], SubjectProblem::DeceptiveCharacters { .. }),
            "{c:?}"
        );
        assert!(matches!(
            Identity::new(v.clone(), Vec::<String>::new()),
            Err(crate::Error::InvalidName { .. })
        ));
    }
    assert!(!is_deceptive('é') && !is_deceptive(':'));
}

#[test]
fn identity_deserialises_only_through_its_checks() {
    let ok: Identity = serde_json::from_str(r#"{"user":"u","groups":["g"]}"#).unwrap();
    assert_eq!(ok, Identity::new("u", ["g"]).unwrap());
    assert_eq!(
        serde_json::to_string(&ok).unwrap(),
        r#"{"user":"u","groups":["g"]}"#
    );
    for bad in [
        r#"{"user":"","groups":[]}"#,
        r#"{"user":"u","groups":["a\u202eb"]}"#,
        r#"{"user":"u","groups":[" padded "]}"#,
    ] {
        assert!(serde_json::from_str::<Identity>(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_subject_that_is_no_identity_reads_but_does_not_convert() {
    let r = SubjectReading::of(&name(&[(O, Tag::Utf8String, b"g")]));
    assert_eq!(r.user, "");
    assert!(r.identity().is_err());
    assert!(Identity::from_name(&name(&[(O, Tag::Utf8String, b"g")])).is_err());
    assert_eq!(r.to_string(), r#"user "", groups ["g"]"#);
}

#[test]
fn identity_names_are_checked() {
    assert!(matches!(
        Identity::new("", Vec::<String>::new()),
        Err(crate::Error::InvalidName { .. })
    ));
    assert!(matches!(
        Identity::new(" u", Vec::<String>::new()),
        Err(crate::Error::InvalidName { .. })
    ));
    assert!(matches!(
        Identity::new("u", [""]),
        Err(crate::Error::InvalidName { .. })
    ));
    let who = Identity::new("u", ["g"]).unwrap();
    assert_eq!(Identity::from_name(&who.to_name().unwrap()).unwrap(), who);
    assert!(who.check_system_masters(false).is_ok());
    let masters = Identity::new("u", [SYSTEM_MASTERS]).unwrap();
    assert!(matches!(
        masters.check_system_masters(false),
        Err(crate::Error::SystemMasters)
    ));
    assert!(masters.check_system_masters(true).is_ok());
}

#[test]
fn groups_with_cluster_wide_power_are_refused_unless_allowed() {
    for group in ["kubeadm:cluster-admins", "system:nodes"] {
        let who = Identity::new("gitlab-admin", ["gitlab-runners", group]).unwrap();
        let e = who.check_system_masters(false).unwrap_err();
        assert!(
            matches!(&e, Error::PrivilegedGroup { group: g, .. } if g == group),
            "{e}"
        );
        assert_eq!(e.kind(), crate::ErrorKind::PrivilegedGroup);
        assert!(
            !e.to_string().contains("--"),
            "no CLI flag in the core: {e}"
        );
        assert!(who.check_system_masters(true).is_ok());
    }
    let fine = Identity::new("gitlab-admin", ["gitlab-runners", "system:authenticated"]).unwrap();
    assert!(fine.check_system_masters(false).is_ok());
}
