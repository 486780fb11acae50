import Foundation
import GANTestSupport
import Testing

/// Issue 21 end to end on a tiny image run (the synthetic 8x8 data set of the image pipeline tests):
/// TensorBoard's own reader checks the event files against the checkpoint's history after a resume,
/// headless Chromium renders the report, and the everyday commands print tables.
@Suite(.serialized) struct RunReportCLITests {
    let bin = CLI.binary("gan-pipeline")

    /// The private venv of `make h5py-env` when it has h5py and tensorboard.
    static let python: String? = {
        let p = packageRoot().appendingPathComponent(".build/h5py-venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: p),
              let r = try? CLI.run(URL(fileURLWithPath: p), ["-c", "import h5py, tensorboard"]), r.status == 0 else { return nil }
        return p
    }()

    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// A 60-step run (checkpoints every 20) stopped twice: first by a failed write of its second
    /// event file, after checkpoint 40 was saved (the rerun re-logs steps 21-40 from the history),
    /// then, once finished, by damage to checkpoint 60, so that the last run resumed from step 40
    /// with events up to 60 already on disk (they must not appear twice).
    static func resumedRun(_ bin: URL, in dir: URL) throws -> String {
        try ImagePipelineCLITests.writeDataSet(dir)
        let yaml = dir.appendingPathComponent("tiny-images.yaml").path
        try ImagePipelineCLITests.yaml.write(toFile: yaml, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("runs/tiny").path
        let args = ["run", yaml, "--run-dir", run, "--quiet", "--set", "train.steps=60", "--set", "train.checkpoint_every=20",
                    "--set", "train.eval_every=0", "--set", "evaluate.samples=200"]
        let failed = try CLI.run(bin, args, environment: ["SWIFTGAN_FAIL_WRITE": "2:ENOSPC@/tensorboard/train/"])
        #expect(failed.status == 74 && failed.stderr.contains("/tensorboard/train/events.out.tfevents."), "\(failed.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(run)/train/step-00000040.h5"))
        let first = try CLI.run(bin, args)
        #expect(first.status == 0 && first.stderr.contains("resuming from step 40"), "\(first.stderr)")
        try Data("damaged".utf8).write(to: URL(fileURLWithPath: "\(run)/train/step-00000060.h5"))
        let second = try CLI.run(bin, args)
        #expect(second.status == 0 && second.stderr.contains("resuming from step 40"), "\(second.stderr)")
        // The last lines say where to look.
        #expect(second.stderr.contains("The run at a glance: \(run)/eval/report.html"), "\(second.stderr)")
        #expect(second.stderr.contains("tensorboard --logdir \(run)/tensorboard"))
        return run
    }

    @Test(.enabled(if: python != nil, "no .build/h5py-venv with h5py + tensorboard (make h5py-env)"))
    func tensorBoardReadsTheEventsOfAResumedRun() throws {
        let bin = try #require(bin), python = try #require(Self.python)
        let dir = try makeTemporaryDirectory("tensorboard-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try Self.resumedRun(bin, in: dir)
        let script = """
            import json, sys, h5py, numpy as np
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
            run = sys.argv[1]
            def load(stage):
                # purge_orphaned_data=False: a duplicated step would show up instead of being dropped.
                acc = EventAccumulator(f"{run}/tensorboard/{stage}", size_guidance={"scalars": 0, "images": 0, "tensors": 0},
                                       purge_orphaned_data=False)
                acc.Reload()
                return acc
            train = load("train")
            tags = train.Tags()
            with h5py.File(f"{run}/train/step-00000060.h5", "r") as f:
                h = {k: f["history"][k][()] for k in f["history"]}
            steps = h["step"].astype(int).tolist()
            out = {"scalar_tags": sorted(tags["scalars"]), "image_tags": tags["images"], "tensor_tags": tags["tensors"]}
            for tag, key in [("loss/d", "d_loss"), ("loss/g", "g_loss"), ("score/d_real", "d_real"), ("score/d_fake", "d_fake")]:
                ev = train.Scalars(tag)
                out[tag] = {"steps_match": [e.step for e in ev] == steps,
                            "values_match": bool(np.array_equal(np.array([e.value for e in ev], np.float32), h[key].astype(np.float32)))}
            out["lr"] = [len(train.Scalars(t)) == len(steps) and all(e.value == np.float32(0.001) for e in train.Scalars(t))
                         for t in ("lr/d", "lr/g")]
            out["image_steps"] = [e.step for e in train.Images("samples")]
            img = train.Images("samples")[-1]
            out["image_png"] = img.encoded_image_string[:8] == b"\\x89PNG\\r\\n\\x1a\\n" and img.width > 0
            config = train.Tensors("config")
            out["config_steps"] = [e.step for e in config]
            out["config_text"] = "name: tiny-images" in config[0].tensor_proto.string_val[0].decode()
            ev = load("evaluate")
            metrics = json.load(open(f"{run}/eval/metrics.json"))
            out["eval_fd"] = [e.value for e in ev.Scalars("eval/fd")] == [np.float32(metrics["fd"])]
            out["eval_step"] = [e.step for e in ev.Scalars("eval/fd")]
            print(json.dumps(out))
            """
        let path = dir.appendingPathComponent("check.py").path
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try CLI.run(URL(fileURLWithPath: python), [path, run])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout)")
        #expect(out["scalar_tags"] as? [String] == ["loss/d", "loss/g", "lr/d", "lr/g", "score/d_fake", "score/d_real"])
        for tag in ["loss/d", "loss/g", "score/d_real", "score/d_fake"] {
            #expect(out[tag] as? [String: Bool] == ["steps_match": true, "values_match": true], "\(tag): \(out[tag] ?? "")")
        }
        #expect(out["lr"] as? [Bool] == [true, true])
        #expect(out["image_steps"] as? [Int] == [0, 20, 40, 60])
        #expect(out["image_png"] as? Bool == true)
        #expect(out["config_steps"] as? [Int] == [0])
        #expect(out["config_text"] as? Bool == true)
        #expect(out["eval_fd"] as? Bool == true)
        #expect(out["eval_step"] as? [Int] == [60])
    }

    @Test(.enabled(if: chromium != nil, "no chromium (make deps installs it)"))
    func chromiumRendersTheReportWithEveryImage() throws {
        let bin = try #require(bin), chromium = try #require(Self.chromium)
        let dir = try makeTemporaryDirectory("report-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try Self.resumedRun(bin, in: dir)
        let rebuilt = try CLI.run(bin, ["report", run])
        #expect(rebuilt.status == 0 && rebuilt.stdout == "\(run)/eval/report.html\n", "\(rebuilt.stderr)")
        let html = try String(contentsOfFile: "\(run)/eval/report.html", encoding: .utf8)
        // Self-contained: every image inline, nothing fetched, no script.
        let sources = html.components(separatedBy: "src=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        // The final grid, four checkpoints (steps 0, 20, 40, 60) of progression, two curve plots.
        #expect(sources.count == 7, "\(sources.count) images")
        #expect(sources.allSatisfy { $0.hasPrefix("data:image/png;base64,") })
        #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"))
        for part in ["Metrics", "real-data floor", "Progress on fixed noise", "step 60", "Training curves", "Stage timeline",
                     "name: tiny-images"] {
            #expect(html.contains(part), "the report lacks \(part)")
        }
        // Two timeline rows for train: the first processes (steps 1-40: 1-20 logged by the first,
        // 21-40 re-logged by the second, whose events after the damaged checkpoint were dropped)
        // and the last one (41-60).
        #expect(html.contains("<td>train</td><td class=\"num\">1–40</td>") && html.contains("<td>train</td><td class=\"num\">41–60</td>"), "timeline rows")

        // The test's probe, appended to a copy: counts decoded images and records console errors.
        let probe = """
            <script>
            const errors = [];
            const origError = console.error;
            console.error = (...a) => { errors.push(a.join(" ")); origError(...a); };
            window.addEventListener("error", e => errors.push(String(e.message || e.type)), true);
            window.addEventListener("load", () => {
              const imgs = [...document.images];
              const decoded = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
              const p = document.createElement("pre");
              p.id = "probe";
              p.textContent = "PROBE " + JSON.stringify({images: imgs.length, decoded, errors});
              document.body.appendChild(p);
            });
            </script>
            """
        let copy = dir.appendingPathComponent("probe.html")
        try html.replacingOccurrences(of: "</body>", with: probe + "</body>").write(to: copy, atomically: true, encoding: .utf8)
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--user-data-dir=\(dir.appendingPathComponent("profile").path)", "--virtual-time-budget=5000"]
        let dom = try CLI.run(URL(fileURLWithPath: chromium), flags + ["--enable-logging=stderr", "--v=0", "--dump-dom", copy.absoluteString])
        let marker = "<pre id=\"probe\">PROBE "
        let line = try #require(dom.stdout.split(separator: "\n").first { $0.contains(marker) }, "no probe output: \(dom.stderr.suffix(2000))")
        let text = line[line.range(of: marker)!.upperBound...]
        let object = text[...(text.lastIndex(of: "}") ?? text.startIndex)]
        let json = try #require(try JSONSerialization.jsonObject(with: Data(object.utf8)) as? [String: Any], "\(line)")
        #expect(json["images"] as? Int == sources.count)
        #expect(json["decoded"] as? Int == sources.count, "broken images: \(json)")
        #expect((json["errors"] as? [String])?.isEmpty == true, "\(json)")
        #expect(!dom.stderr.contains("Uncaught"), "\(dom.stderr.suffix(2000))")

        let shot = dir.appendingPathComponent("report.png")
        let s = try CLI.run(URL(fileURLWithPath: chromium), flags + ["--hide-scrollbars", "--window-size=1100,2400",
                                                                     "--screenshot=\(shot.path)", URL(fileURLWithPath: "\(run)/eval/report.html").absoluteString])
        let png = try Data(contentsOf: shot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000, "\(s.stderr.suffix(1000))")
    }

    @Test func statusListAndReportCommandsPrintTables() throws {
        let bin = try #require(bin)
        let dir = try makeTemporaryDirectory("status-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let yaml = packageRoot().appendingPathComponent("Pipelines/parabola-2d.yaml").path
        let run = dir.appendingPathComponent("runs/parabola").path
        let r = try CLI.run(bin, ["run", yaml, "--run-dir", run, "--quiet", "--set", "train.steps=10000", "--set", "train.checkpoint_every=5000",
                                  "--set", "train.d_steps_per_g_step=1"])
        #expect(r.status == 0, "\(r.stderr)")
        // Integers print as integers.
        #expect(r.stderr.contains("evaluate: step 10000, samples "), "\(r.stderr)")
        #expect(!r.stderr.contains("e+0"), "\(r.stderr)")

        let one = try CLI.run(bin, ["status", run])
        #expect(one.status == 0, "\(one.stderr)")
        let lines = one.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.allSatisfy { !$0.hasSuffix(" ") }, "trailing spaces: \(one.stdout)")
        #expect(lines.contains { $0.hasPrefix("  train ") && $0.contains(" step 10000; last d_fake ") }, "\(one.stdout)")
        #expect(lines.contains { $0.hasPrefix("    metric ") && $0.hasSuffix("value") }, "\(one.stdout)")
        // Aligned: every metric row starts its value in the same column.
        let rows = lines.drop { !$0.hasPrefix("    metric") }.filter { $0.hasPrefix("    ") }
        let column = rows.first.map { $0.range(of: "value")!.lowerBound.utf16Offset(in: $0) }
        #expect(rows.count >= 4 && rows.dropFirst().allSatisfy { row in
            row.count > column! && row[row.index(row.startIndex, offsetBy: column! - 1)] == " "
                && row[row.index(row.startIndex, offsetBy: column!)] != " "
        }, "\(one.stdout)")
        #expect(one.stdout.contains("    step") && one.stdout.contains(" 10000\n"), "\(one.stdout)")

        let all = try CLI.run(bin, ["status", "--runs", dir.appendingPathComponent("runs").path])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout.hasPrefix("run "), "\(all.stdout)")
        #expect(all.stdout.contains("evaluated  10000/10000  curve_rmse "), "\(all.stdout)")
        let missing = try CLI.run(bin, ["status", "--runs", dir.appendingPathComponent("nothing").path])
        #expect(missing.status == 2 && missing.stderr.hasSuffix("no such directory (runs are created by gan-pipeline run)\n"), "\(missing.stderr)")

        let list = try CLI.run(bin, ["list", "--pipelines", packageRoot().appendingPathComponent("Pipelines").path])
        #expect(list.status == 0, "\(list.stderr)")
        let shipped = try FileManager.default.contentsOfDirectory(atPath: packageRoot().appendingPathComponent("Pipelines").path)
            .filter { $0.hasSuffix(".yaml") }
        #expect(list.stdout.split(separator: "\n").count == shipped.count + 1)
        #expect(list.stdout.contains("fashion-mlp-sn   the default of make run"), "\(list.stdout)")
        #expect(!list.stdout.split(separator: "\n").contains { $0.hasSuffix(" -") }, "a pipeline without # time: \(list.stdout)")

        // Toy report: the scatter plot, the curves, no progression; and a missing run is one line.
        let report = try CLI.run(bin, ["report", run])
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOfFile: "\(run)/eval/report.html", encoding: .utf8)
        #expect(html.contains("Real and generated samples") && html.contains("losses") && !html.contains("Progress on fixed noise"))
        let bad = try CLI.run(bin, ["report", dir.appendingPathComponent("none").path])
        #expect(bad.status == 2 && bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        for command in [[], ["run"], ["status"], ["report"], ["list"]] {
            #expect(try CLI.helpProblems(bin, command) == [])
        }
    }
}
