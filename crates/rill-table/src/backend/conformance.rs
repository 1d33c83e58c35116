//! The behaviour every [`Backend`] must show, checked against each driver's real server.

use super::*;

/// The checks every [`Backend`] must pass, independent of the driver, against a live store
/// that holds nothing yet under the tables `t1`, `t2` and `bulk`.
pub(crate) fn conformance(b: &dyn Backend) {
    use Write::{Delete, Put};
    let get = |table: &str, space: &str, key: &[u8]| {
        let mut v = b.get_many(table, space, &[key]).unwrap();
        assert_eq!(v.len(), 1);
        v.pop().unwrap()
    };

    // Nothing there yet; empty requests are fine.
    assert_eq!(get("t1", "attrs", br#""u1""#), None);
    assert_eq!(
        b.get_many("t1", "attrs", &[]).unwrap(),
        Vec::<Option<Vec<u8>>>::new()
    );
    assert_eq!(b.scan("t1", "attrs").unwrap(), vec![]);
    b.write("t1", &[]).unwrap();
    assert_eq!(b.scan("t1", "attrs").unwrap(), vec![]);

    // Put, get, overwrite, delete.
    let u1: &[u8] = br#""u1""#;
    b.write(
        "t1",
        &[Put {
            space: "attrs",
            key: u1,
            value: br#"{"color":"red"}"#,
        }],
    )
    .unwrap();
    assert_eq!(
        get("t1", "attrs", u1).as_deref(),
        Some(&br#"{"color":"red"}"#[..])
    );
    b.write(
        "t1",
        &[Put {
            space: "attrs",
            key: u1,
            value: br#"{"color":"blue"}"#,
        }],
    )
    .unwrap();
    assert_eq!(
        get("t1", "attrs", u1).as_deref(),
        Some(&br#"{"color":"blue"}"#[..])
    );
    b.write(
        "t1",
        &[
            Delete {
                space: "attrs",
                key: u1,
            },
            // Deleting an absent key is not an error.
            Delete {
                space: "attrs",
                key: br#""never""#,
            },
        ],
    )
    .unwrap();
    assert_eq!(get("t1", "attrs", u1), None);
    assert_eq!(b.scan("t1", "attrs").unwrap(), vec![]);

    // get_many: one entry per key, in the order asked, None where absent, repeats answered.
    b.write(
        "t1",
        &[
            Put {
                space: "attrs",
                key: b"1",
                value: b"one",
            },
            Put {
                space: "attrs",
                key: b"3",
                value: b"three",
            },
        ],
    )
    .unwrap();
    assert_eq!(
        b.get_many("t1", "attrs", &[b"3", b"2", b"1", b"4", b"3"])
            .unwrap(),
        vec![
            Some(b"three".to_vec()),
            None,
            Some(b"one".to_vec()),
            None,
            Some(b"three".to_vec())
        ]
    );

    // Tables and spaces are apart: the same key in t1/attrs, t1/meta, t2/attrs.
    b.write(
        "t1",
        &[Put {
            space: "meta",
            key: b"1",
            value: b"t1 meta",
        }],
    )
    .unwrap();
    b.write(
        "t2",
        &[Put {
            space: "attrs",
            key: b"1",
            value: b"t2 attrs",
        }],
    )
    .unwrap();
    assert_eq!(get("t1", "attrs", b"1").as_deref(), Some(&b"one"[..]));
    assert_eq!(get("t1", "meta", b"1").as_deref(), Some(&b"t1 meta"[..]));
    assert_eq!(get("t2", "attrs", b"1").as_deref(), Some(&b"t2 attrs"[..]));
    assert_eq!(get("t2", "attrs", b"3"), None);
    assert_eq!(get("t2", "meta", b"1"), None);
    b.write(
        "t2",
        &[Delete {
            space: "attrs",
            key: b"1",
        }],
    )
    .unwrap();
    assert_eq!(get("t1", "attrs", b"1").as_deref(), Some(&b"one"[..]));
    assert_eq!(get("t1", "meta", b"1").as_deref(), Some(&b"t1 meta"[..]));
    assert_eq!(b.scan("t2", "attrs").unwrap(), vec![]);
    assert_eq!(
        b.scan("t1", "meta").unwrap(),
        vec![(b"1".to_vec(), b"t1 meta".to_vec())]
    );

    // scan is ordered by key bytes (not by insertion, not as numbers): a prefix sorts before
    // its extensions, "10" before "2", and a byte >= 0x80 after every ASCII byte.
    let keys: [&[u8]; 7] = [
        b"a",
        br#"["a",1]"#,
        b"2",
        b"10",
        br#""u""#,
        br#""u1""#,
        b"\xff",
    ];
    let writes: Vec<Write<'_>> = keys
        .iter()
        .map(|k| Put {
            space: "agg.3f2a",
            key: k,
            value: k,
        })
        .collect();
    b.write("t1", &writes).unwrap();
    let sorted: [&[u8]; 7] = [
        br#""u""#,
        br#""u1""#,
        b"10",
        b"2",
        br#"["a",1]"#,
        b"a",
        b"\xff",
    ];
    let expect: Vec<(Vec<u8>, Vec<u8>)> = sorted.iter().map(|k| (k.to_vec(), k.to_vec())).collect();
    assert_eq!(b.scan("t1", "agg.3f2a").unwrap(), expect);

    // Binary values: zero bytes, bytes that are not UTF-8, an empty value, a large one.
    let large: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let values: [(&[u8], &[u8]); 4] = [
        (b"zero", b"\x00a\x00\x00b\x00"),
        (b"nonutf8", b"\xff\xfe\x80\xc3\x28\x00\x01"),
        (b"empty", b""),
        (b"large", &large),
    ];
    let writes: Vec<Write<'_>> = values
        .iter()
        .map(|(k, v)| Put {
            space: "meta",
            key: k,
            value: v,
        })
        .collect();
    b.write("t2", &writes).unwrap();
    let names: Vec<&[u8]> = values.iter().map(|(k, _)| *k).collect();
    let got = b.get_many("t2", "meta", &names).unwrap();
    assert_eq!(got.len(), 4);
    for ((k, v), g) in values.iter().zip(&got) {
        assert_eq!(
            g.as_deref(),
            Some(*v),
            "value of {}",
            String::from_utf8_lossy(k)
        );
    }
    let mut by_key: Vec<(Vec<u8>, Vec<u8>)> = values
        .iter()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    by_key.sort();
    assert_eq!(b.scan("t2", "meta").unwrap(), by_key);
    // A binary key too (keys are JSON text in rill, but the store takes any bytes).
    b.write(
        "t2",
        &[
            Put {
                space: "attrs",
                key: b"\x00\xff",
                value: b"bin",
            },
            Delete {
                space: "meta",
                key: b"large",
            },
        ],
    )
    .unwrap();
    assert_eq!(
        get("t2", "attrs", b"\x00\xff").as_deref(),
        Some(&b"bin"[..])
    );
    assert_eq!(get("t2", "meta", b"large"), None);
    assert_eq!(b.scan("t2", "meta").unwrap().len(), 3);

    // In one batch the later write of a key wins, whatever the kinds.
    b.write(
        "t1",
        &[
            Put {
                space: "meta",
                key: b"w",
                value: b"first",
            },
            Put {
                space: "meta",
                key: b"w",
                value: b"second",
            },
            Put {
                space: "meta",
                key: b"d",
                value: b"gone",
            },
            Delete {
                space: "meta",
                key: b"d",
            },
            Delete {
                space: "meta",
                key: b"p",
            },
            Put {
                space: "meta",
                key: b"p",
                value: b"back",
            },
            Put {
                space: "attrs",
                key: b"w",
                value: b"other space",
            },
        ],
    )
    .unwrap();
    assert_eq!(
        b.get_many("t1", "meta", &[b"w", b"d", b"p"]).unwrap(),
        vec![Some(b"second".to_vec()), None, Some(b"back".to_vec())]
    );
    assert_eq!(
        get("t1", "attrs", b"w").as_deref(),
        Some(&b"other space"[..])
    );

    // Values larger in sum than one statement or command carries (3 × 3 MiB), and one
    // alone larger than that.
    let big: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i; 3 << 20]).collect();
    let huge = vec![7u8; 9 << 20];
    let mut writes: Vec<Write<'_>> = big
        .iter()
        .enumerate()
        .map(|(i, v)| Put {
            space: "agg.big",
            key: [b"a", b"b", b"c"][i],
            value: v,
        })
        .collect();
    writes.push(Put {
        space: "agg.big",
        key: b"d",
        value: &huge,
    });
    b.write("t2", &writes).unwrap();
    let got = b
        .get_many("t2", "agg.big", &[b"a", b"b", b"c", b"d"])
        .unwrap();
    assert_eq!(got.len(), 4);
    for (g, want) in got.iter().zip(big.iter().chain([&huge])) {
        assert!(
            g.as_deref() == Some(&want[..]),
            "a big value came back wrong"
        );
    }
    b.write(
        "t2",
        &[b"a", b"b", b"c", b"d"].map(|k: &[u8; 1]| Delete {
            space: "agg.big",
            key: k,
        }),
    )
    .unwrap();
    assert_eq!(b.scan("t2", "agg.big").unwrap(), vec![]);

    // 20 000 keys in one write across two spaces (more than one statement or command takes),
    // then deletes of a quarter of them in one more.
    let n = 20_000;
    let bulk: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
        .map(|i| {
            (
                format!("\"k{i:05}\"").into_bytes(),
                format!("v{i}").into_bytes(),
            )
        })
        .collect();
    let writes: Vec<Write<'_>> = bulk
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Put {
            space: if i % 2 == 0 { "attrs" } else { "agg.1" },
            key: k,
            value: v,
        })
        .collect();
    b.write("bulk", &writes).unwrap();
    let keys: Vec<&[u8]> = bulk.iter().map(|(k, _)| &k[..]).collect();
    let got = b.get_many("bulk", "attrs", &keys).unwrap();
    assert_eq!(got.len(), n);
    for (i, g) in got.iter().enumerate() {
        let want = (i % 2 == 0).then(|| bulk[i].1.clone());
        assert_eq!(*g, want, "key {i}");
    }
    let attrs = b.scan("bulk", "attrs").unwrap();
    assert_eq!(attrs.len(), n / 2);
    assert_eq!(attrs[0], bulk[0]);
    assert_eq!(attrs[n / 2 - 1], bulk[n - 2]);
    assert!(attrs.windows(2).all(|w| w[0].0 < w[1].0));
    let deletes: Vec<Write<'_>> = keys
        .iter()
        .step_by(4)
        .map(|k| Delete {
            space: "attrs",
            key: k,
        })
        .collect();
    b.write("bulk", &deletes).unwrap();
    let attrs = b.scan("bulk", "attrs").unwrap();
    assert_eq!(attrs.len(), n / 4);
    assert_eq!(attrs[0], bulk[2]);
    assert_eq!(b.scan("bulk", "agg.1").unwrap().len(), n / 2);

    // Shared between threads: concurrent writers and readers of one table, each its own keys.
    std::thread::scope(|s| {
        for t in 0..4 {
            s.spawn(move || {
                for round in 0..5 {
                    let keys: Vec<Vec<u8>> = (0..50)
                        .map(|i| format!("[{t},{round},{i}]").into_bytes())
                        .collect();
                    let writes: Vec<Write<'_>> = keys
                        .iter()
                        .map(|k| Put {
                            space: "agg.2",
                            key: k,
                            value: k,
                        })
                        .collect();
                    b.write("t2", &writes).unwrap();
                    let asked: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
                    let got = b.get_many("t2", "agg.2", &asked).unwrap();
                    assert_eq!(got.len(), keys.len());
                    for (g, k) in got.iter().zip(&keys) {
                        assert_eq!(g.as_deref(), Some(&k[..]));
                    }
                }
            });
        }
    });
    assert_eq!(b.scan("t2", "agg.2").unwrap().len(), 4 * 5 * 50);

    b.sync().unwrap();
}
