//! `rill plot`: numeric columns of a file drawn as time series, SVG and PNG.

mod common;

use common::rill;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// The data lines of a drawing (plotters draws each run of a series as one blue polyline),
/// with their point counts.
fn lines(svg: &str) -> Vec<usize> {
    svg.split("<polyline")
        .skip(1)
        .filter(|p| p.contains(r##"stroke="#0000FF""##))
        .map(|p| {
            let pts = p
                .split("points=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            pts.split_whitespace().count()
        })
        .collect()
}

fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .map(|t| {
            t.split_once('>')
                .unwrap()
                .1
                .split('<')
                .next()
                .unwrap()
                .trim()
                .to_string()
        })
        .collect()
}

fn attr(svg: &str, name: &str) -> u32 {
    let at = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
    svg[at..].split('"').next().unwrap().parse().unwrap()
}

const DATA: &str = "time,a,b,label\n\
2020-07-21T21:40:00Z,1,10.5,x\n\
2020-07-21T21:41:00Z,3,,y\n\
2020-07-21T21:42:00Z,2,11.5,z\n\
2020-07-21T21:43:00Z,5,12.0,w\n";

#[test]
fn every_numeric_column_gets_a_panel_and_a_missing_value_breaks_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "f.csv", DATA);
    let o = rill(d, &["plot", "f.csv", "-o", "f.svg"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(d.join("f.svg")).unwrap();
    assert_eq!((attr(&svg, "width"), attr(&svg, "height")), (1000, 440));
    let t = texts(&svg);
    // captions: the numeric columns only, in file order
    assert!(
        t.contains(&"a".to_string()) && t.contains(&"b".to_string()),
        "{t:?}"
    );
    assert!(!t.contains(&"label".to_string()), "{t:?}");
    // shared time axis labelled with the time of day
    assert!(t.contains(&"21:40:00".to_string()), "{t:?}");
    // a: one line of 4 points; b: 10.5 alone, then 11.5 → 12.0 (its empty value is a gap)
    assert_eq!(lines(&svg), [4, 1, 2]);
    // nothing else is left beside the drawing
    assert_eq!(common::file_names(d), ["f.csv", "f.svg"]);
}

#[test]
fn png_has_the_asked_size_and_chosen_columns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "f.csv", DATA);
    let o = rill(
        d,
        &[
            "plot",
            "f.csv",
            "-o",
            "f.png",
            "--columns",
            "b",
            "--width",
            "640",
            "--panel-height",
            "150",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = std::fs::read(d.join("f.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let be = |i: usize| u32::from_be_bytes(png[i..i + 4].try_into().unwrap());
    assert_eq!(&png[12..16], b"IHDR");
    assert_eq!((be(16), be(20)), (640, 150));
    // not blank: some pixels are neither white nor grey mesh (the blue line, the text)
    assert!(png.len() > 2000, "{} bytes", png.len());
}

#[test]
fn a_long_file_is_drawn_with_a_bounded_number_of_points() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut data = String::from("timestamp,price\n");
    for i in 0..100_000u64 {
        // svoe's float epoch seconds, a saw-tooth with a spike
        let y = if i == 77_777 {
            1000.0
        } else {
            (i % 100) as f64
        };
        data.push_str(&format!(
            "{}.{:03},{y}\n",
            1_622_120_202 + i / 10,
            (i % 10) * 100
        ));
    }
    write(d, "long.csv", &data);
    let o = rill(d, &["plot", "long.csv", "-o", "long.svg", "--width", "500"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(d.join("long.svg")).unwrap();
    let l = lines(&svg);
    assert_eq!(l.len(), 1);
    assert!(l[0] <= 2 * 500 + 2, "{} points", l[0]);
    // the spike survives the decimation: the axis reaches 1000
    assert!(
        texts(&svg).iter().any(|t| t.starts_with("1000")),
        "{:?}",
        texts(&svg)
    );
}

#[test]
fn bad_input_names_the_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "f.csv", DATA);
    write(
        d,
        "back.csv",
        "time,a\n2020-07-21T21:41:00Z,1\n2020-07-21T21:40:00Z,2\n",
    );
    write(d, "bad.csv", "time,a\n2020-07-21T21:41:00Z,1\nsoon,2\n");
    let cases: [(&[&str], &str); 5] = [
        (
            &["plot", "f.csv", "-o", "f.svg", "--columns", "c"],
            "'f.csv' has no column 'c' (columns: time, a, b, label)",
        ),
        (
            &["plot", "f.csv", "-o", "f.svg", "--columns", "label"],
            "'f.csv' row 1: column 'label': \"x\" is not a number",
        ),
        (
            &["plot", "back.csv", "-o", "f.svg"],
            "'back.csv' row 2: column 'time' goes back in time",
        ),
        (
            &["plot", "bad.csv", "-o", "f.svg"],
            "'bad.csv' row 2: column 'time': \"soon\" is not a time",
        ),
        (
            &["plot", "f.csv", "-o", "f.gif"],
            "output 'f.gif': unknown extension 'gif' (expected .svg or .png)",
        ),
    ];
    for (args, want) in cases {
        let o = rill(d, args);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert!(!d.join("f.svg").exists() && !d.join("f.gif").exists());
    assert_eq!(std::fs::read_dir(d).unwrap().count(), 3);
}
