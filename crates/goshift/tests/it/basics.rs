use goshift_testkit::TestContext;

fn context() -> TestContext {
    TestContext::new(env!("CARGO_BIN_EXE_goshift"))
}

#[test]
fn home_prints_goshift_home() {
    let context = context();
    let output = context.run(["home"]);
    assert!(output.status.success());
    assert_eq!(
        context.filter(&String::from_utf8_lossy(&output.stdout)),
        "[ROOT]/home\n"
    );
}

#[test]
fn unknown_command_is_a_usage_error() {
    let context = context();
    let output = context.run(["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unrecognized subcommand"));
}

#[test]
fn relative_home_is_refused() {
    let context = context();
    let output = context
        .command()
        .env("GOSHIFT_HOME", "relative")
        .arg("home")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("GOSHIFT_HOME must be an absolute path"),
        "{stderr}"
    );
}
