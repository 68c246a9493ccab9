//! The checksum Flyway stores in `flyway_schema_history.checksum`, so that a database migrated by Flyway
//! continues under db-deploy without re-baselining.
//!
//! Flyway reads the script line by line (`BufferedReader.readLine`: a line ends at `\n`, `\r` or `\r\n`,
//! which are dropped), removes a byte-order mark from the first line, feeds each line's UTF-8 bytes to one
//! CRC-32, and stores the value as a signed 32-bit integer. Line endings therefore do not change the
//! checksum; any other byte does. A versioned script is checksummed as written; a repeatable one after its
//! placeholders are replaced (Flyway also accepts its checksum as written).

/// Flyway's checksum of a script's text.
pub fn flyway_checksum(text: &str) -> i32 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut crc = crc32fast::Hasher::new();
    for line in lines(text) {
        crc.update(line.as_bytes());
    }
    // Java's `(int) crc32.getValue()`: the low 32 bits as two's complement.
    i32::from_ne_bytes(crc.finalize().to_ne_bytes())
}

/// Lines as `BufferedReader.readLine` returns them (no terminators; no empty line after a final one).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    let line = &text[start..i];
                    i += 1;
                    start = i;
                    return Some(line);
                }
                b'\r' => {
                    let line = &text[start..i];
                    i += if bytes.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                    start = i;
                    return Some(line);
                }
                _ => i += 1,
            }
        }
        if start < bytes.len() {
            let line = &text[start..];
            start = bytes.len();
            return Some(line);
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_like_java_readline() {
        fn split(t: &str) -> Vec<&str> {
            lines(t).collect()
        }
        assert_eq!(split("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(split("a\n"), ["a"]);
        assert_eq!(split("a\n\n"), ["a", ""]);
        assert_eq!(split(""), Vec::<&str>::new());
        assert_eq!(split("\r\n"), [""]);
    }

    #[test]
    fn line_endings_and_bom_do_not_matter_content_does() {
        let unix = flyway_checksum("CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n");
        assert_eq!(unix, flyway_checksum("CREATE TABLE t (id int);\r\nINSERT INTO t VALUES (1);"));
        assert_eq!(unix, flyway_checksum("\u{feff}CREATE TABLE t (id int);\rINSERT INTO t VALUES (1);\r\n"));
        assert_ne!(unix, flyway_checksum("CREATE TABLE t (id  int);\nINSERT INTO t VALUES (1);\n"));
        // The CRC-32 of the concatenated lines, as a signed integer.
        assert_eq!(flyway_checksum("a\nb"), i32::from_ne_bytes(crc32fast::hash(b"ab").to_ne_bytes()));
        // CRC-32 of "123456789" is 0xCBF43926, which Java's (int) cast makes negative.
        assert_eq!(flyway_checksum("123456789"), -873187034);
    }

    /// Scripts and the checksums Flyway stored for them in a real `flyway_schema_history` (a public project's
    /// committed pg_dump; the files have no final newline). The last keeps its `${env}` placeholder:
    /// Flyway checksums a versioned script before replacing placeholders.
    #[test]
    fn known_flyway_values() {
        let known = [
            (
                "create table migrations.test_table(\n    id VARCHAR (16) NOT NULL,\n    env VARCHAR (16) NOT NULL,\n    \
                 text_variable VARCHAR (16) NOT NULL,\n    PRIMARY KEY (id)\n);",
                1738658883,
            ),
            ("alter table migrations.test_table\nadd added_column varchar(16);", -604825677),
            ("insert into migrations.test_table(id, env, text_variable) VALUES ('1', 'all', 'text');", 263247582),
            (
                "insert into migrations.test_table(id, env, text_variable)\nselect '3', 'dev', 'text'\nwhere '${env}' = 'dev';",
                132986467,
            ),
        ];
        for (script, checksum) in known {
            assert_eq!(flyway_checksum(script), checksum, "{script}");
            assert_eq!(flyway_checksum(&format!("{}\r\n", script.replace('\n', "\r\n"))), checksum, "CRLF: {script}");
        }
    }
}
