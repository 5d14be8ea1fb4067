// Package dashboard is cascade's web dashboard: server-rendered pages of
// the workspace graph, plans and their gates, releases with their steps,
// verification runs with their matrix, and the audit log, with live
// updates over Server-Sent Events. It reads everything through a Source
// and acts on nothing itself: its forms post to the server's API, which
// checks who may act. Every value shown comes from repositories or the
// state database and is escaped by html/template.
package dashboard

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what a Dashboard reads and how it learns who is looking.
type Config struct {
	Source Source
	// Person is who is looking: a person of the workspace's people, or ""
	// for an anonymous viewer. An error (an expired session) shows the
	// page as to an anonymous viewer. Nil: everyone is anonymous.
	Person func(r *http.Request) (string, error)
	// CSRFToken is the token the forms of r's page carry (in the field
	// CSRFField) for the API to check. Nil: the forms carry none.
	CSRFToken func(r *http.Request) string
	// CSRFField is the form field of the CSRF token (default "csrf_token").
	// The release forms also carry "reason" (override) and "input.NAME"
	// for each input a manual step asks for (confirm).
	CSRFField string
	// APIPrefix is where the API's release actions are (default
	// "/api/v1").
	APIPrefix string
	// Broker carries the live updates; New makes one when nil. The jobs
	// and release handlers Publish to it (ReleaseTopic, RunTopic).
	Broker *Broker
	// Heartbeat is how often an idle event stream sends a comment, so
	// that proxies keep it open and a gone client is noticed (default 15s).
	Heartbeat time.Duration
	// Location is the time zone times are shown in (default UTC).
	Location *time.Location
	// Logger receives errors the pages could not show (default: discard).
	Logger *slog.Logger
	// RequireLogin sends an anonymous viewer of any page but the login
	// page and the static files to /login, and refuses them the event
	// streams (401). Off: anyone may read (`serve --public-read`).
	RequireLogin bool
}

// Dashboard serves the dashboard's pages.
type Dashboard struct {
	cfg       Config
	broker    *Broker
	heartbeat time.Duration
	loc       *time.Location
	log       *slog.Logger
	pages     map[string]*template.Template
	mux       *http.ServeMux
}

// pageNames are the pages, each one template file with the layout.
var pageNames = []string{"index", "repo", "plans", "plan", "release", "runs", "run", "audit", "login", "error"}

// New makes a dashboard. It fails when cfg has no Source.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Source == nil {
		return nil, errkind.New(errkind.Invalid, "dashboard: no Source to read from")
	}
	if cfg.RequireLogin && cfg.Person == nil {
		return nil, errkind.New(errkind.Invalid, "dashboard: RequireLogin needs Person to tell who is looking")
	}
	d := &Dashboard{cfg: cfg, broker: cfg.Broker, heartbeat: cfg.Heartbeat, loc: cfg.Location, log: cfg.Logger, pages: map[string]*template.Template{}}
	if d.broker == nil {
		d.broker = NewBroker(0)
	}
	if d.heartbeat <= 0 {
		d.heartbeat = 15 * time.Second
	}
	if d.loc == nil {
		d.loc = time.UTC
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.cfg.CSRFField == "" {
		d.cfg.CSRFField = "csrf_token"
	}
	if d.cfg.APIPrefix == "" {
		d.cfg.APIPrefix = "/api/v1"
	}
	funcs := d.funcs()
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		d.pages[name] = t
	}
	d.routes()
	return d, nil
}

// Broker is the dashboard's event broker.
func (d *Dashboard) Broker() *Broker { return d.broker }

// Handler serves the dashboard.
func (d *Dashboard) Handler() http.Handler { return d.mux }

func (d *Dashboard) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", d.page(d.index))
	m.HandleFunc("GET /repos/{repo...}", d.page(d.repo))
	m.HandleFunc("GET /plans", d.page(d.plans))
	m.HandleFunc("GET /plans/{id}", d.page(d.plan))
	m.HandleFunc("GET /releases/{plan}", d.page(d.release))
	m.HandleFunc("GET /runs", d.page(d.runs))
	m.HandleFunc("GET /runs/{id}", d.page(d.run))
	m.HandleFunc("GET /audit", d.page(d.audit))
	m.HandleFunc("GET /login", d.page(d.login))
	m.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		if d.cfg.RequireLogin && d.person(r) == "" {
			http.Error(w, "log in to watch live updates", http.StatusUnauthorized)
			return
		}
		d.serveEvents(w, r)
	})
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	m.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			// Files only: no listing of the directory.
			d.render(w, r, http.StatusNotFound, "error", view{Title: "Not found", Data: errorView{Message: "There is no such page."}})
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	}))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		d.render(w, r, http.StatusNotFound, "error", view{Title: "Not found", Data: errorView{Message: "There is no such page."}})
	})
	d.mux = m
}

// view is what every page's template gets.
type view struct {
	Title  string
	Nav    string // the navigation entry to mark current
	Person string
	CSRF   string
	Field  string // the CSRF form field's name
	API    string
	// Live is the topic whose events refresh the page's live fragment.
	Live string
	Data any
}

type errorView struct{ Message string }

// page adapts a page function: it fills in who is looking and renders
// the template it names, or an error page.
func (d *Dashboard) page(fn func(r *http.Request, v *view) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := view{Field: d.cfg.CSRFField, API: d.cfg.APIPrefix, Person: d.person(r)}
		if d.cfg.RequireLogin && v.Person == "" && r.URL.Path != "/login" {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if d.cfg.CSRFToken != nil {
			v.CSRF = d.cfg.CSRFToken(r)
		}
		name, err := fn(r, &v)
		if err != nil {
			status, msg := http.StatusInternalServerError, "The dashboard could not read this; the server's log says why."
			switch errkind.Of(err) {
			case errkind.NotFound:
				status, msg = http.StatusNotFound, err.Error()
			case errkind.Invalid:
				status, msg = http.StatusBadRequest, err.Error()
			default:
				d.log.Error("dashboard page", "path", r.URL.Path, "error", err)
			}
			v.Title, v.Data, v.Live = http.StatusText(status), errorView{Message: msg}, ""
			d.render(w, r, status, "error", v)
			return
		}
		d.render(w, r, http.StatusOK, name, v)
	}
}

// person is who is looking, "" for an anonymous viewer.
func (d *Dashboard) person(r *http.Request) string {
	if d.cfg.Person == nil {
		return ""
	}
	p, err := d.cfg.Person(r)
	if err != nil {
		d.log.Info("dashboard: viewer shown as anonymous", "error", err)
		return ""
	}
	return p
}

func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	var buf bytes.Buffer
	if err := d.pages[name].Execute(&buf, v); err != nil {
		d.log.Error("dashboard template", "page", name, "error", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}
