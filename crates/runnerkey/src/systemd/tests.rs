use super::*;

#[test]
fn names_and_words_are_escaped_as_systemd_wants() {
    assert_eq!(escape("my-runner"), "my\\x2drunner");
    assert_eq!(escape("a/b c"), "a-b\\x20c");
    assert_eq!(escape(".x"), "\\x2ex");
    assert_eq!(quote("/usr/bin/runnerkey"), "/usr/bin/runnerkey");
    assert_eq!(quote("a b"), "\"a b\"");
    assert_eq!(quote("100%"), "100%%");
    assert_eq!(quote("$HOME"), "\"$$HOME\"");
}

#[test]
fn relative_programs_and_control_characters_are_refused() {
    let units = RenewUnits::new("r", vec!["runnerkey".into()], vec![], vec![]);
    assert!(matches!(
        units.service(),
        Err(crate::Error::InvalidArgument { .. })
    ));
    let units = RenewUnits::new("r", vec!["/bin/true".into()], vec!["status".into()], vec![]);
    assert!(matches!(
        units.runner_dropin(),
        Err(crate::Error::InvalidArgument { .. })
    ));
    let units = RenewUnits::new("r\n[Service]", vec!["/bin/true".into()], vec![], vec![]);
    assert!(matches!(
        units.timer(),
        Err(crate::Error::InvalidArgument { .. })
    ));
    let units = RenewUnits::new(
        "r",
        vec!["/bin/true".into()],
        vec![],
        vec!["/tmp\nExecStartPre=/injected".into()],
    );
    assert!(
        matches!(units.instance_dropin(), Err(Error::InvalidArgument(m)) if m.contains("ReadWritePaths"))
    );
    let units = RenewUnits::new("", vec!["/bin/true".into()], vec![], vec![]);
    assert!(matches!(
        units.files(),
        Err(crate::Error::InvalidArgument { .. })
    ));
    assert_eq!(quote_path("/a b/%h"), "\"/a b/%%h\"");
    assert_eq!(quote_path("/a$b"), "/a$b");
    assert_eq!(
        command_line(&["/opt/bin $x/runnerkey".into(), "$y".into()]),
        ["\"/opt/bin $x/runnerkey\"", "\"$$y\""]
    );
    let units = RenewUnits::new("r", vec!["/opt/a\"b/runnerkey".into()], vec![], vec![]);
    assert!(matches!(
        units.service(),
        Err(crate::Error::InvalidArgument { .. })
    ));
}

#[test]
fn the_renewal_is_confined() {
    let units = RenewUnits::new("r", vec!["/usr/bin/runnerkey".into()], vec![], vec![]);
    let service = units.service().unwrap();
    for setting in [
        "NoNewPrivileges=yes\n",
        "CapabilityBoundingSet=CAP_CHOWN CAP_FOWNER CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH\n",
        "ProtectSystem=strict\n",
        "StateDirectory=runnerkey\n",
        "PrivateDevices=yes\n",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n",
        "MemoryDenyWriteExecute=yes\n",
        "SystemCallFilter=@system-service\n",
        "SystemCallArchitectures=native\n",
    ] {
        assert!(service.contains(setting), "{setting}{service}");
    }
    // Every setting on a line of its own, in [Service].
    assert!(
        service
            .lines()
            .all(|l| l.is_empty() || l.starts_with('[') || l.contains('='))
    );
}

#[test]
fn a_template_an_instance_and_a_check_before_gitlab_runner() {
    let tmp = tempfile::tempdir().unwrap();
    let units = RenewUnits::new(
        "my runner",
        vec![
            "/usr/bin/runnerkey".into(),
            "renew".into(),
            "--config=/etc/gitlab-runner/config.toml".into(),
            "--runner=my runner".into(),
        ],
        vec!["/usr/bin/runnerkey".into(), "status".into()],
        vec!["/etc/gitlab-runner".into(), "/etc/ssl/kubernetes".into()],
    );
    assert_eq!(units.name(), "runnerkey-renew@my\\x20runner");
    assert!(units.service().unwrap().contains(
        "ExecStart=/usr/bin/runnerkey renew --config=/etc/gitlab-runner/config.toml --runner=%I\n"
    ));
    assert!(
        units
            .service()
            .unwrap()
            .contains("ReadWritePaths=/etc/gitlab-runner\n")
    );
    let dropin = units.instance_dropin().unwrap();
    assert!(dropin.contains("ExecStart=\nExecStart=/usr/bin/runnerkey renew"));
    assert!(dropin.contains("\"--runner=my runner\""));
    assert!(dropin.contains("ReadWritePaths=/etc/gitlab-runner /etc/ssl/kubernetes\n"));
    let paths = units.install(tmp.path()).unwrap();
    let names: Vec<String> = paths
        .iter()
        .map(|p| {
            p.strip_prefix(tmp.path().join("etc/systemd/system"))
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "runnerkey-renew@.service",
            "runnerkey-renew@.timer",
            "runnerkey-renew@my\\x20runner.service.d/runnerkey.conf",
            "gitlab-runner.service.d/runnerkey.conf"
        ]
    );
}
