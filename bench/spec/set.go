package spec

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// With returns a copy of w with the settings given as "path=value" changed
// (e.g. "processing.cpu_us=3", "client.fetch_max_wait=50ms"), validated
// like a workload file: an unknown path or a bad value is an *Error naming
// it. It is how an A/B run states its candidate.
func (w *Workload) With(sets []string) (*Workload, error) {
	data, err := yaml.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encoding the workload: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("encoding the workload: %w", err)
	}
	for _, s := range sets {
		path, value, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, &Error{Field: s, Problem: "not a setting", Fix: `write path=value, e.g. processing.cpu_us=3`}
		}
		if err := setPath(doc.Content[0], strings.Split(path, "."), value); err != nil {
			return nil, &Error{Field: path, Problem: err.Error(), Fix: "use a field of the workload format (workloads/README.md)"}
		}
		// Checked one setting at a time, so the error names it.
		if _, err := parseNode(&doc); err != nil {
			return nil, fmt.Errorf("%s=%s: %w", path, value, err)
		}
	}
	c, err := parseNode(&doc)
	if err != nil {
		return nil, err
	}
	c.Sink.DSN = w.Sink.DSN // never marshalled round-trip into a file; keep it
	return c, nil
}

func parseNode(doc *yaml.Node) (*Workload, error) {
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding the workload: %w", err)
	}
	return Parse(out)
}

// setPath sets the scalar at path under a mapping node, adding the keys
// that are missing; Parse then rejects a key the format does not know.
func setPath(n *yaml.Node, path []string, value string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s is not a group of settings", path[0])
	}
	for i := 0; i < len(n.Content); i += 2 {
		if n.Content[i].Value != path[0] {
			continue
		}
		if len(path) == 1 {
			v := n.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return fmt.Errorf("is a group of settings, not one value")
			}
			v.Value, v.Tag, v.Style = value, "", 0
			return nil
		}
		return setPath(n.Content[i+1], path[1:], value)
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Value: path[0]}
	val := &yaml.Node{Kind: yaml.ScalarNode, Value: value}
	if len(path) > 1 {
		val = &yaml.Node{Kind: yaml.MappingNode}
		if err := setPath(val, path[1:], value); err != nil {
			return err
		}
	}
	n.Content = append(n.Content, key, val)
	return nil
}
