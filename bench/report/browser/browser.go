// Package browser looks at a page as a person would: it opens it in
// headless Chromium, checks that every image loaded and that the console
// shows no error, and takes a full-page screenshot. It is kept apart from
// package report so that the report links no browser driver; only the
// command and the tests use it.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// DefaultPath is where Debian's chromium package installs the browser.
const DefaultPath = "/usr/bin/chromium"

// PathEnv names the environment variable that points at another Chromium.
const PathEnv = "COMMITBENCH_CHROMIUM"

// Find returns the Chromium to run: $COMMITBENCH_CHROMIUM when set, else
// DefaultPath, or an error saying how to install it.
func Find() (string, error) {
	path := DefaultPath
	if p := os.Getenv(PathEnv); p != "" {
		path = p
	}
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("no Chromium at %s: install Debian's chromium package (apt-get install chromium) or point %s at one", path, PathEnv)
	}
	return path, nil
}

// Options says how to run the browser.
type Options struct {
	// ExecPath is the Chromium binary (see Find).
	ExecPath string
	// UserDataDir is a fresh, empty directory for the browser's profile;
	// the caller removes it.
	UserDataDir string
	// Width and Height are the viewport in CSS pixels (default 1280 × 900);
	// the screenshot takes the whole page whatever its height.
	Width, Height int
	// Timeout bounds the whole visit (default one minute).
	Timeout time.Duration
}

// Image is one <img> of a page as the browser loaded it.
type Image struct {
	// Alt is the image's alt text; Src its address, cut to 80 characters.
	Alt string `json:"alt"`
	Src string `json:"src"`
	// Complete and NaturalWidth are the DOM's: an image that failed to
	// load is complete with a natural width of 0.
	Complete     bool `json:"complete"`
	NaturalWidth int  `json:"naturalWidth"`
}

// Page is what the browser saw.
type Page struct {
	Images []Image
	// Errors are the console's errors: console.error and failed asserts,
	// uncaught exceptions, and the browser's own log at level error (a
	// resource that did not load).
	Errors []string
	// Screenshot is the whole page as a PNG.
	Screenshot []byte
}

// Problems lists what a person would find broken: images that did not
// load and the console's errors.
func (p Page) Problems() []string {
	var out []string
	for _, im := range p.Images {
		if !im.Complete || im.NaturalWidth <= 0 {
			out = append(out, fmt.Sprintf("image %q (%s) did not load", im.Alt, im.Src))
		}
	}
	for _, e := range p.Errors {
		out = append(out, "console: "+e)
	}
	return out
}

// Load opens url (a file:// address, or a server on loopback) in headless
// Chromium with no network of its own: no background requests, no
// updates, no sync, no QUIC. It returns once the page has loaded.
func Load(ctx context.Context, url string, o Options) (Page, error) {
	if o.ExecPath == "" || o.UserDataDir == "" {
		return Page{}, errors.New("browser: Options need ExecPath (see Find) and a fresh UserDataDir")
	}
	if o.Width <= 0 {
		o.Width, o.Height = 1280, 900
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(o.ExecPath),
		chromedp.UserDataDir(o.UserDataDir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(o.Width, o.Height),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	tctx, tcancel := chromedp.NewContext(actx)
	defer tcancel()

	var mu sync.Mutex
	var errs []string
	// Listen calls back in the order events arrive, before the reply to
	// the next command: whatever the page logged while loading is in
	// errs once the images' check returns.
	if err := chromedp.Listen(tctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				msg = fmt.Sprintf("console.%s: %s", e.Type, args(e.Args))
			}
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg = "uncaught: " + d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
		case *log.EventEntryAdded:
			if e.Entry != nil && e.Entry.Level == log.EntryLevelError {
				msg = fmt.Sprintf("%s: %s %s", e.Entry.Source, e.Entry.Text, cut(e.Entry.URL))
			}
		}
		if msg != "" {
			mu.Lock()
			errs = append(errs, msg)
			mu.Unlock()
		}
	}); err != nil {
		return Page{}, fmt.Errorf("starting Chromium (%s): %w", o.ExecPath, err)
	}
	if err := chromedp.Do(tctx, chromedp.Navigate(url)); err != nil {
		return Page{}, fmt.Errorf("loading %s in Chromium: %w", cut(url), err)
	}
	imgs, err := chromedp.Run(tctx, chromedp.Evaluate[[]Image](`Array.from(document.images, i => ({
		alt: i.alt, src: i.src.slice(0, 80), complete: i.complete, naturalWidth: i.naturalWidth}))`))
	if err != nil {
		return Page{}, fmt.Errorf("reading the images of %s: %w", cut(url), err)
	}
	shot, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		return Page{}, fmt.Errorf("taking a screenshot of %s: %w", cut(url), err)
	}
	mu.Lock()
	defer mu.Unlock()
	return Page{Images: imgs, Errors: append([]string(nil), errs...), Screenshot: shot}, nil
}

func args(as []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(as))
	for _, a := range as {
		switch {
		case a.Value != nil:
			parts = append(parts, strings.Trim(string(a.Value), `"`))
		default:
			parts = append(parts, a.Description)
		}
	}
	return strings.Join(parts, " ")
}

// cut shortens an address (a data: URL is most of a page) for a message.
func cut(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
