//! tests/ddl is a copy of the apps' real DDL in shared/formats (so that a
//! clone without shared/ still generates every store); it must stay the
//! same bytes as shared/'s.

use chatferry_core::testing::{shared_dir, skip};

#[test]
fn the_generators_ddl_is_the_same_as_shareds() {
    let test = "the_generators_ddl_is_the_same_as_shareds";
    let formats = shared_dir().join("formats");
    if !formats.is_dir() {
        skip(test, &format!("{} is not there to compare with", formats.display()));
        return;
    }
    let ours = chatferry_tests::harness::workspace_root().join("tests/ddl");
    let mut compared = 0;
    for entry in std::fs::read_dir(&ours).unwrap() {
        let name = entry.unwrap().file_name();
        let theirs = [formats.join("ddl").join(&name), formats.join(&name)].into_iter().find(|p| p.is_file());
        let theirs = theirs.unwrap_or_else(|| panic!("tests/ddl/{name:?} is not in {}", formats.display()));
        assert!(
            std::fs::read(ours.join(&name)).unwrap() == std::fs::read(&theirs).unwrap(),
            "tests/ddl/{name:?} differs from {}: copy it again",
            theirs.display()
        );
        compared += 1;
    }
    assert!(compared >= 9, "tests/ddl holds {compared} files");
}
