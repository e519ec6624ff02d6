package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// podFS is one pod's view of the machine: each volume is a local directory (emptyDir and
// friends under the pod's directory, a claim under <workdir>/claims, secrets, config maps and
// downward-API files written out from the fake cluster), and every path a container names
// under one of its mounts is rewritten to that directory.
type podFS struct {
	ctx     context.Context
	kube    kubernetes.Interface
	pod     *corev1.Pod
	dir     string
	volumes map[string]string
	shim    string
}

type mount struct{ path, local string }

func newPodFS(ctx context.Context, kube kubernetes.Interface, workdir string, pod *corev1.Pod, shim string) (*podFS, error) {
	fs := &podFS{ctx: ctx, kube: kube, pod: pod, dir: filepath.Join(workdir, "pods", pod.Name),
		volumes: map[string]string{}, shim: shim}
	for _, v := range pod.Spec.Volumes {
		local := filepath.Join(fs.dir, "volumes", v.Name)
		if v.PersistentVolumeClaim != nil {
			local = filepath.Join(workdir, "claims", v.PersistentVolumeClaim.ClaimName)
		}
		if err := os.MkdirAll(local, 0o755); err != nil {
			return nil, err
		}
		if err := fs.fill(local, v.VolumeSource); err != nil {
			return nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		fs.volumes[v.Name] = local
	}
	return fs, nil
}

// fill writes the files of a secret, config map, downward-API or projected volume.
func (fs *podFS) fill(dir string, src corev1.VolumeSource) error {
	switch {
	case src.Secret != nil:
		return fs.writeSecret(dir, src.Secret.SecretName, src.Secret.Items, src.Secret.Optional)
	case src.ConfigMap != nil:
		return fs.writeConfigMap(dir, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional)
	case src.DownwardAPI != nil:
		return fs.writeDownward(dir, src.DownwardAPI.Items)
	case src.Projected != nil:
		for _, s := range src.Projected.Sources {
			var err error
			switch {
			case s.Secret != nil:
				err = fs.writeSecret(dir, s.Secret.Name, s.Secret.Items, s.Secret.Optional)
			case s.ConfigMap != nil:
				err = fs.writeConfigMap(dir, s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional)
			case s.DownwardAPI != nil:
				err = fs.writeDownward(dir, s.DownwardAPI.Items)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (fs *podFS) writeSecret(dir, name string, items []corev1.KeyToPath, optional *bool) error {
	secret, err := fs.kube.CoreV1().Secrets(fs.pod.Namespace).Get(fs.ctx, name, metav1.GetOptions{})
	if err != nil {
		if optional != nil && *optional {
			return nil
		}
		return fmt.Errorf("secret %q: %w (seed it with --seed)", name, err)
	}
	return writeKeys(dir, secret.Data, items)
}

func (fs *podFS) writeConfigMap(dir, name string, items []corev1.KeyToPath, optional *bool) error {
	cm, err := fs.kube.CoreV1().ConfigMaps(fs.pod.Namespace).Get(fs.ctx, name, metav1.GetOptions{})
	if err != nil {
		if optional != nil && *optional {
			return nil
		}
		return fmt.Errorf("config map %q: %w (seed it with --seed)", name, err)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return writeKeys(dir, data, items)
}

func writeKeys(dir string, data map[string][]byte, items []corev1.KeyToPath) error {
	if len(items) == 0 {
		for key := range data {
			items = append(items, corev1.KeyToPath{Key: key, Path: key})
		}
	}
	for _, item := range items {
		value, ok := data[item.Key]
		if !ok {
			return fmt.Errorf("key %q not found", item.Key)
		}
		if err := writeFile(filepath.Join(dir, item.Path), value); err != nil {
			return err
		}
	}
	return nil
}

// writeDownward writes downward-API files. Tekton's "ready" annotation is written as set: the
// reconciler marks a pod without sidecars ready as soon as it exists.
func (fs *podFS) writeDownward(dir string, items []corev1.DownwardAPIVolumeFile) error {
	for _, item := range items {
		if item.FieldRef == nil {
			continue
		}
		value := fs.fieldValue(item.FieldRef.FieldPath)
		if item.FieldRef.FieldPath == "metadata.annotations['tekton.dev/ready']" {
			value = "READY"
		}
		if err := writeFile(filepath.Join(dir, item.Path), []byte(value)); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

var fieldKey = regexp.MustCompile(`^metadata\.(labels|annotations)\['(.*)'\]$`)

func (fs *podFS) fieldValue(path string) string {
	switch path {
	case "metadata.name":
		return fs.pod.Name
	case "metadata.namespace":
		return fs.pod.Namespace
	case "metadata.uid":
		return string(fs.pod.UID)
	case "spec.serviceAccountName":
		return fs.pod.Spec.ServiceAccountName
	case "spec.nodeName":
		return "localhost"
	case "status.podIP", "status.hostIP":
		return "127.0.0.1"
	}
	if m := fieldKey.FindStringSubmatch(path); m != nil {
		if m[1] == "labels" {
			return fs.pod.Labels[m[2]]
		}
		return fs.pod.Annotations[m[2]]
	}
	return ""
}

// mounts are a container's mount points, longest first, so nested mounts win.
func (fs *podFS) mounts(c corev1.Container) []mount {
	var out []mount
	for _, m := range c.VolumeMounts {
		local, ok := fs.volumes[m.Name]
		if !ok {
			continue
		}
		if m.SubPath != "" {
			local = filepath.Join(local, m.SubPath)
			_ = os.MkdirAll(local, 0o755)
		}
		out = append(out, mount{path: strings.TrimSuffix(m.MountPath, "/"), local: local})
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i].path) > len(out[j].path) })
	return out
}

// mapText rewrites every absolute path under a mount point, wherever it starts a word or a value
// (after '=', ':', ',', a quote or a space) and ends at a path boundary.
func mapText(text string, mounts []mount) string {
	var b strings.Builder
	for i := 0; i < len(text); {
		if i == 0 || strings.ContainsRune("=:, \t\n\"'", rune(text[i-1])) {
			if m, ok := mountAt(text[i:], mounts); ok {
				b.WriteString(m.local)
				i += len(m.path)
				continue
			}
		}
		b.WriteByte(text[i])
		i++
	}
	return b.String()
}

func mountAt(text string, mounts []mount) (mount, bool) {
	for _, m := range mounts {
		if !strings.HasPrefix(text, m.path) {
			continue
		}
		rest := text[len(m.path):]
		if rest == "" || strings.ContainsRune("/=:, \t\n\"'", rune(rest[0])) {
			return m, true
		}
	}
	return mount{}, false
}

// argv maps a container's command line: the launcher binary becomes the caller's launcher
// command, paths under mounts become local paths, and the launcher "image file" becomes the shim.
func (fs *podFS) argv(words []string, mounts []mount, launcher []string) []string {
	var out []string
	for i, word := range words {
		if i == 0 && filepath.Base(word) == "kfp-launcher" {
			out = append(out, launcher...)
			continue
		}
		mapped := mapText(word, mounts)
		if mapped == word && filepath.IsAbs(word) && filepath.Base(word) == "kfp-launcher" {
			mapped = fs.shim
		}
		out = append(out, mapped)
	}
	return out
}

// env is the host's environment (PATH, HOME, the interpreter's) overlaid with the container's.
func (fs *podFS) env(c corev1.Container, mounts []mount) ([]string, map[string]string, error) {
	values := map[string]string{}
	declared := map[string]string{} // the container's own variables: what $(VAR) may refer to
	var order []string
	set := func(k, v string) {
		if _, seen := values[k]; !seen {
			order = append(order, k)
		}
		values[k] = v
	}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		set(k, v)
	}
	for _, from := range c.EnvFrom {
		data, err := fs.envSource(from)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range data {
			set(from.Prefix+k, v)
			declared[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		value, err := fs.envValue(e)
		if err != nil {
			return nil, nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if e.ValueFrom == nil {
			value = expandEnv(value, declared)
		}
		declared[e.Name] = value
		set(e.Name, mapText(value, mounts))
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+values[k])
	}
	return out, declared, nil
}

// expandArgs applies the kubelet's expansion of $(VAR) in a container's command and args.
func expandArgs(words []string, declared map[string]string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = expandEnv(w, declared)
	}
	return out
}

// expandEnv applies Kubernetes' $(VAR) expansion of known variables ($$ escapes).
func expandEnv(value string, values map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(value); i++ {
		if value[i] == '$' && i+1 < len(value) {
			if value[i+1] == '$' {
				b.WriteByte('$')
				i++
				continue
			}
			if value[i+1] == '(' {
				if end := strings.IndexByte(value[i:], ')'); end > 0 {
					if v, ok := values[value[i+2:i+end]]; ok {
						b.WriteString(v)
						i += end
						continue
					}
				}
			}
		}
		b.WriteByte(value[i])
	}
	return b.String()
}

func (fs *podFS) envValue(e corev1.EnvVar) (string, error) {
	from := e.ValueFrom
	switch {
	case from == nil:
		return e.Value, nil
	case from.FieldRef != nil:
		return fs.fieldValue(from.FieldRef.FieldPath), nil
	case from.SecretKeyRef != nil:
		s, err := fs.kube.CoreV1().Secrets(fs.pod.Namespace).Get(fs.ctx, from.SecretKeyRef.Name, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("secret %q: %w (seed it with --seed)", from.SecretKeyRef.Name, err)
		}
		return string(s.Data[from.SecretKeyRef.Key]), nil
	case from.ConfigMapKeyRef != nil:
		cm, err := fs.kube.CoreV1().ConfigMaps(fs.pod.Namespace).Get(fs.ctx, from.ConfigMapKeyRef.Name, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("config map %q: %w (seed it with --seed)", from.ConfigMapKeyRef.Name, err)
		}
		return cm.Data[from.ConfigMapKeyRef.Key], nil
	}
	return "", nil
}

func (fs *podFS) envSource(from corev1.EnvFromSource) (map[string]string, error) {
	out := map[string]string{}
	switch {
	case from.SecretRef != nil:
		s, err := fs.kube.CoreV1().Secrets(fs.pod.Namespace).Get(fs.ctx, from.SecretRef.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("secret %q: %w (seed it with --seed)", from.SecretRef.Name, err)
		}
		for k, v := range s.Data {
			out[k] = string(v)
		}
	case from.ConfigMapRef != nil:
		cm, err := fs.kube.CoreV1().ConfigMaps(fs.pod.Namespace).Get(fs.ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("config map %q: %w (seed it with --seed)", from.ConfigMapRef.Name, err)
		}
		for k, v := range cm.Data {
			out[k] = v
		}
	}
	return out, nil
}

// entrypointShim stands in for the entrypoint binary that "prepare" copies into /tekton/bin: steps are
// run by the harness, so only the subcommand other init containers call is needed (place-scripts:
// "decode-script FILE" decodes a base64 script in place, keeping its mode).
const entrypointShim = `#!/bin/sh
[ "$1" = decode-script ] || { echo "entrypoint: only decode-script is available locally" >&2; exit 1; }
base64 -d "$2" > "$2.decoded" && cat "$2.decoded" > "$2" && rm -f "$2.decoded"
`

// runInit runs an init container. Tekton's "prepare" (entrypoint init: copy the entrypoint binary,
// link each step's directory) is done here directly, with a shim for the binary; others run as
// local processes.
func (fs *podFS) runInit(c corev1.Container) error {
	mounts := fs.mounts(c)
	words := append(append([]string{}, c.Command...), c.Args...)
	if len(words) > 3 && filepath.Base(words[0]) == "entrypoint" && words[1] == "init" {
		if binary := mapText(words[3], mounts); binary != words[3] {
			if err := os.WriteFile(binary, []byte(entrypointShim), 0o755); err != nil {
				return err
			}
		}
		steps := mapText("/tekton/steps", mounts)
		for i, step := range words[4:] {
			run, ok := fs.volumes[fmt.Sprintf("tekton-internal-run-%d", i)]
			if !ok || steps == "/tekton/steps" {
				continue
			}
			target := filepath.Join(run, "status")
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			for _, name := range []string{step, fmt.Sprint(i)} {
				_ = os.Symlink(target, filepath.Join(steps, name))
			}
		}
		return nil
	}
	env, declared, err := fs.env(c, mounts)
	if err != nil {
		return err
	}
	words = fs.argv(expandArgs(words, declared), mounts, nil)
	if len(words) == 0 {
		return fmt.Errorf("no command (image entrypoints are not available locally)")
	}
	cmd := exec.CommandContext(fs.ctx, words[0], words[1:]...)
	cmd.Env, cmd.Dir = env, fs.workingDir(c, mounts)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (fs *podFS) workingDir(c corev1.Container, mounts []mount) string {
	dir := filepath.Join(fs.dir, "work")
	if c.WorkingDir != "" {
		if mapped := mapText(c.WorkingDir, mounts); mapped != c.WorkingDir {
			dir = mapped
		} else {
			dir = filepath.Join(fs.dir, "root", c.WorkingDir)
		}
	}
	_ = os.MkdirAll(dir, 0o755)
	return dir
}
