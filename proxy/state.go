package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bluegreen-go/bluegreen"
)

// stateVersion is the version of the state file's format.
const stateVersion = 1

// stateFile is what Options.StateFile holds: enough to route as before a
// restart. Health, drains and metrics are not kept; they are rebuilt.
type stateFile struct {
	Version  int                     `json:"version"`
	Services map[string]serviceState `json:"services"`
}

type serviceState struct {
	// Config is the configuration given to ConfigureService; absent for a
	// service that uses Options.Defaults.
	Config  *ServiceConfig              `json:"config,omitempty"`
	Routes  bluegreen.Routes            `json:"routes"`
	Targets map[bluegreen.Slot][]string `json:"targets,omitempty"`
}

// save writes the state of every service to Options.StateFile, if set.
// Call with p.mu held, after changing the services and before publishing
// the change, so what is saved is never behind what is served.
func (p *Proxy) save() error {
	if p.opts.StateFile == "" {
		return nil
	}
	st := stateFile{Version: stateVersion, Services: make(map[string]serviceState, len(p.services))}
	for name, svc := range p.services {
		ss := serviceState{Config: svc.explicit, Routes: svc.routes}
		for i, s := range slots {
			if len(svc.addrs[i]) > 0 {
				if ss.Targets == nil {
					ss.Targets = map[bluegreen.Slot][]string{}
				}
				ss.Targets[s] = svc.addrs[i]
			}
		}
		st.Services[name] = ss
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("proxy: encode state: %w", err)
	}
	if err := writeFileAtomic(p.opts.StateFile, append(b, '\n')); err != nil {
		return fmt.Errorf("proxy: save state: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old file or the new one: temporary file, fsync, rename, directory fsync.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// loadState reads a state file. A missing file is an empty state; a file
// that cannot be read or parsed is an error, and is left as it is.
func loadState(path string) (stateFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return stateFile{Version: stateVersion}, nil
	}
	if err != nil {
		return stateFile{}, fmt.Errorf("proxy: read state file: %w", err)
	}
	var st stateFile
	if err := decodeStrict(b, &st); err != nil {
		return stateFile{}, fmt.Errorf("proxy: state file %s is corrupt (%w); repair it or move it away to start empty", path, err)
	}
	if st.Version != stateVersion {
		return stateFile{}, fmt.Errorf("proxy: state file %s has version %d; this proxy reads version %d", path, st.Version, stateVersion)
	}
	return st, nil
}

// restore installs st into a new Proxy, validating it as the admin API
// validates the same input.
func (p *Proxy) restore(st stateFile) error {
	hosts := map[string]string{}
	for name, ss := range st.Services {
		if err := checkServiceName("services key", name); err != nil {
			return err
		}
		if err := ss.Routes.Validate(); err != nil {
			return fmt.Errorf("service %s: %w", name, err)
		}
		svc, _ := p.getService(name)
		if ss.Config != nil {
			resolved := ss.Config.withDefaults(p.opts.Defaults)
			resolved.Hosts = normalizeHosts(ss.Config.Hosts)
			if err := resolved.validate("services." + name + ".config"); err != nil {
				return err
			}
			for _, h := range resolved.Hosts {
				if other, ok := hosts[h]; ok {
					return fmt.Errorf("service %s: host %q also routes to service %s", name, h, other)
				}
				hosts[h] = name
			}
			explicit := *ss.Config
			explicit.Hosts = resolved.Hosts
			svc.explicit = &explicit
			svc.config.Store(&resolved)
		}
		svc.routes = ss.Routes
		for slot, addrs := range ss.Targets {
			if err := checkSlot("services."+name+".targets key", slot); err != nil {
				return err
			}
			norm, err := normalizeTargets(addrs)
			if err != nil {
				return fmt.Errorf("service %s slot %s: %w", name, slot, err)
			}
			i := slotIndex(slot)
			svc.addrs[i] = norm
			pl := svc.pools[i]
			ts := make([]*target, len(norm))
			for j, a := range norm {
				ts[j] = newTarget(pl, a)
			}
			pl.targets.Store(&ts)
		}
	}
	for _, svc := range p.services {
		for _, pl := range svc.pools {
			for _, t := range *pl.targets.Load() {
				p.startChecks(t)
			}
		}
	}
	return nil
}
