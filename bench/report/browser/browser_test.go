package browser

import (
	"bytes"
	"context"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/commitbench/commitbench/bench/report"
	"github.com/commitbench/commitbench/bench/results"
)

// requireEnv makes a missing Chromium fail the test instead of skipping
// it, as CI sets it (the pattern of bench/broker/brokertest.Require).
const requireEnv = "COMMITBENCH_REQUIRE_CHROMIUM"

// screenshotEnv names a directory to keep the test's screenshot in, to
// look at; without it the screenshot goes to the test's temporary
// directory.
const screenshotEnv = "COMMITBENCH_SCREENSHOT_DIR"

func chromium(t *testing.T) string {
	t.Helper()
	path, err := Find()
	if err == nil {
		return path
	}
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s=1, but: %v", requireEnv, err)
	}
	t.Skipf("%v (set %s=1 to fail instead)", err, requireEnv)
	return ""
}

func load(t *testing.T, chromium, page string) Page {
	t.Helper()
	p, err := Load(context.Background(), (&url.URL{Scheme: "file", Path: page}).String(),
		Options{ExecPath: chromium, UserDataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The report of a run with broker load (three Kafka nodes) beside one
// without (the embedded broker), opened in Chromium: every figure loads,
// the console stays clean, and the whole page is kept as a screenshot.
func TestReportLooksRightInChromium(t *testing.T) {
	exe := chromium(t)
	var rs []results.Result
	for _, f := range []string{filepath.Join("testdata"), filepath.Join("testdata", "local")} {
		r, err := results.Read(filepath.Join("..", "..", "plot", f))
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r...)
	}
	built, err := report.Build(rs, report.DefaultPlan(), true)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := built.HTML(&page); err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(t.TempDir(), report.HTMLFile)
	if err := os.WriteFile(html, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	figures, loadFigures := 0, 0
	for _, p := range built.Panels {
		figures += len(p.Figures)
		for _, f := range p.Figures {
			if strings.HasPrefix(f.Title, "Broker CPU") || strings.HasPrefix(f.Title, "__consumer_offsets") {
				loadFigures++
			}
		}
	}
	if loadFigures == 0 {
		t.Fatal("the report has no broker-load figure to look at")
	}

	p := load(t, exe, html)
	if len(p.Images) != figures {
		t.Errorf("Chromium saw %d images, the report has %d figures", len(p.Images), figures)
	}
	for _, pr := range p.Problems() {
		t.Error(pr)
	}
	img, err := png.Decode(bytes.NewReader(p.Screenshot))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1280 || b.Dy() < 5*900 {
		t.Errorf("screenshot %d×%d: want the whole page, far taller than one 1280×900 screen", b.Dx(), b.Dy())
	}
	out := t.TempDir()
	if d := os.Getenv(screenshotEnv); d != "" {
		out = d
	}
	path := filepath.Join(out, "report.png")
	if err := os.WriteFile(path, p.Screenshot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// The check can fail: a broken image, a console.error and an uncaught
// exception are each reported.
func TestLoadReportsBrokenImagesAndErrors(t *testing.T) {
	exe := chromium(t)
	page := filepath.Join(t.TempDir(), "broken.html")
	if err := os.WriteFile(page, []byte(`<!DOCTYPE html><html><body>
<img alt="fine" src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==">
<img alt="broken" src="data:image/png;base64,AAAA">
<script>console.error("figure missing"); null.boom;</script>
</body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	p := load(t, exe, page)
	got := strings.Join(p.Problems(), "\n")
	for _, want := range []string{`image "broken"`, "console.error: figure missing", "uncaught"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems do not report %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"fine"`) {
		t.Errorf("a good image reported as broken:\n%s", got)
	}
}
