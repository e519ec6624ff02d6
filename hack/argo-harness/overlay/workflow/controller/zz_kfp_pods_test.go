// kfp-driver's Argo harness: the local kubelet and executor for one pod (see zz_kfp_harness_test.go).
package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	apiv1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
)

func (h *harness) runPod(ctx context.Context, pod *apiv1.Pod) {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	h.setPhase(ctx, pod, apiv1.PodRunning)
	result := podResult{pod: pod}
	defer func() { h.done <- result }()
	tmpl, err := h.template(ctx, pod)
	if err != nil {
		result.exitCode, result.message = 1, err.Error()
		return
	}
	podDir := filepath.Join(h.workdir, "pods", pod.Name)
	volumes, err := h.volumes(ctx, pod, podDir)
	if err != nil {
		result.exitCode, result.message = 1, err.Error()
		return
	}
	logFile, err := os.Create(filepath.Join(podDir, "main.log"))
	if err != nil {
		result.exitCode, result.message = 1, err.Error()
		return
	}
	defer logFile.Close()
	for _, c := range pod.Spec.InitContainers {
		if c.Name == common.InitContainerName || copiesLauncher(c) {
			continue
		}
		if code, msg := h.runContainer(ctx, pod, c, volumes, podDir, logFile); code != 0 {
			result.exitCode, result.message = code, fmt.Sprintf("init container %s: %s", c.Name, msg)
			return
		}
	}
	var main *apiv1.Container
	for i := range pod.Spec.Containers {
		if tmpl.IsMainContainerName(pod.Spec.Containers[i].Name) {
			main = &pod.Spec.Containers[i]
			break
		}
	}
	if main == nil {
		result.exitCode, result.message = 1, "pod has no main container"
		return
	}
	result.exitCode, result.message = h.runContainer(ctx, pod, *main, volumes, podDir, logFile)
	result.outputs, result.waitErr = collectOutputs(tmpl, mounts(*main, volumes), result.exitCode == 0)
}

func copiesLauncher(c apiv1.Container) bool {
	for _, arg := range append(append([]string{}, c.Command...), c.Args...) {
		if arg == launcherPath {
			return true
		}
	}
	return false
}

// template is the pod's template as Argo's executor reads it: ARGO_TEMPLATE on the init container,
// or the pod's config map when Argo offloaded it.
func (h *harness) template(ctx context.Context, pod *apiv1.Pod) (*wfv1.Template, error) {
	for _, c := range pod.Spec.InitContainers {
		for _, e := range c.Env {
			if e.Name != common.EnvVarTemplate {
				continue
			}
			value := e.Value
			if value == common.EnvVarTemplateOffloaded {
				var err error
				if value, err = h.configMapKey(ctx, pod.Name, common.EnvVarTemplate); err != nil {
					return nil, err
				}
			}
			tmpl := &wfv1.Template{}
			if err := json.Unmarshal([]byte(value), tmpl); err != nil {
				return nil, fmt.Errorf("ARGO_TEMPLATE: %v", err)
			}
			return tmpl, nil
		}
	}
	return nil, fmt.Errorf("pod %s has no %s", pod.Name, common.EnvVarTemplate)
}

func (h *harness) configMapKey(ctx context.Context, name, key string) (string, error) {
	cm, err := h.controller.kubeclientset.CoreV1().ConfigMaps(h.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("config map %s: %v", name, err)
	}
	value, ok := cm.Data[key]
	if !ok {
		return "", fmt.Errorf("config map %s has no key %s", name, key)
	}
	return value, nil
}

func (h *harness) secretKey(ctx context.Context, name, key string) (string, error) {
	secret, err := h.controller.kubeclientset.CoreV1().Secrets(h.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("secret %s: %v (seed it with --seed)", name, err)
	}
	value, ok := secret.Data[key]
	if !ok {
		return "", fmt.Errorf("secret %s has no key %s", name, key)
	}
	return string(value), nil
}

// volumes maps each pod volume to a host directory: emptyDir and the like per pod, PVCs per claim,
// secrets and config maps written out as files.
func (h *harness) volumes(ctx context.Context, pod *apiv1.Pod, podDir string) (map[string]string, error) {
	dirs := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		dir := filepath.Join(podDir, "volumes", v.Name)
		if v.PersistentVolumeClaim != nil {
			dir = filepath.Join(h.workdir, "claims", v.PersistentVolumeClaim.ClaimName)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		files := map[string]string{}
		switch {
		case v.Secret != nil:
			secret, err := h.controller.kubeclientset.CoreV1().Secrets(h.namespace).Get(ctx, v.Secret.SecretName, metav1.GetOptions{})
			if err != nil {
				if v.Secret.Optional != nil && *v.Secret.Optional {
					break
				}
				return nil, fmt.Errorf("volume %s: secret %s: %v (seed it with --seed)", v.Name, v.Secret.SecretName, err)
			}
			for k, value := range secret.Data {
				files[k] = string(value)
			}
			files = pick(files, v.Secret.Items)
		case v.ConfigMap != nil:
			cm, err := h.controller.kubeclientset.CoreV1().ConfigMaps(h.namespace).Get(ctx, v.ConfigMap.Name, metav1.GetOptions{})
			if err != nil {
				if v.ConfigMap.Optional != nil && *v.ConfigMap.Optional {
					break
				}
				return nil, fmt.Errorf("volume %s: config map %s: %v (seed it with --seed)", v.Name, v.ConfigMap.Name, err)
			}
			for k, value := range cm.Data {
				files[k] = value
			}
			for k, value := range cm.BinaryData {
				files[k] = string(value)
			}
			files = pick(files, v.ConfigMap.Items)
		}
		for name, content := range files {
			path := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				return nil, err
			}
		}
		dirs[v.Name] = dir
	}
	return dirs, nil
}

func pick(files map[string]string, items []apiv1.KeyToPath) map[string]string {
	if len(items) == 0 {
		return files
	}
	picked := map[string]string{}
	for _, item := range items {
		if value, ok := files[item.Key]; ok {
			picked[item.Path] = value
		}
	}
	return picked
}

type mount struct{ path, dir string }

// mounts lists the container's mount points and their host directories, longest path first.
func mounts(c apiv1.Container, volumes map[string]string) []mount {
	var list []mount
	for _, m := range c.VolumeMounts {
		dir, ok := volumes[m.Name]
		if !ok {
			continue
		}
		if m.SubPath != "" {
			dir = filepath.Join(dir, m.SubPath)
			_ = os.MkdirAll(dir, 0o755)
		}
		list = append(list, mount{strings.TrimRight(m.MountPath, "/"), dir})
	}
	sort.Slice(list, func(i, j int) bool { return len(list[i].path) > len(list[j].path) })
	return list
}

// hostPath maps a container path under a mount to its host directory; other paths stay as they are.
func hostPath(path string, list []mount) string {
	for _, m := range list {
		if path == m.path || strings.HasPrefix(path, m.path+"/") {
			return m.dir + path[len(m.path):]
		}
	}
	return path
}

// mapArg rewrites a container path in an argument (the whole argument, or the part after '=').
func mapArg(arg string, list []mount) string {
	if strings.HasPrefix(arg, "/") {
		return hostPath(arg, list)
	}
	if i := strings.Index(arg, "="); i >= 0 && strings.HasPrefix(arg[i+1:], "/") {
		return arg[:i+1] + hostPath(arg[i+1:], list)
	}
	return arg
}

func (h *harness) runContainer(ctx context.Context, pod *apiv1.Pod, c apiv1.Container, volumes map[string]string,
	podDir string, logFile io.Writer) (int32, string) {
	env, err := h.env(ctx, pod, c)
	if err != nil {
		return 1, err.Error()
	}
	command := unwrapEmissary(c.Command)
	args := c.Args
	if file := lookup(env, common.EnvVarContainerArgsFile); file != "" {
		text, err := h.configMapKey(ctx, pod.Name, common.EnvVarContainerArgsFile)
		if err != nil {
			return 1, err.Error()
		}
		if err := json.Unmarshal([]byte(text), &args); err != nil {
			return 1, fmt.Sprintf("offloaded args: %v", err)
		}
	}
	vars := map[string]string{}
	for _, e := range env {
		if i := strings.Index(e, "="); i > 0 {
			vars[e[:i]] = e[i+1:]
		}
	}
	argv := make([]string, 0, len(command)+len(args))
	for _, a := range append(append([]string{}, command...), args...) {
		argv = append(argv, expand(a, vars))
	}
	if len(argv) == 0 {
		return 1, "container has no command"
	}
	list := mounts(c, volumes)
	if argv[0] == launcherPath && len(h.launcher) > 0 {
		argv = append(append([]string{}, h.launcher...), argv[1:]...)
	}
	for i := range argv {
		argv[i] = mapArg(argv[i], list)
	}
	for i, e := range env {
		if j := strings.Index(e, "="); j > 0 {
			env[i] = e[:j+1] + mapArg(e[j+1:], list)
		}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = podDir
	if c.WorkingDir != "" {
		cmd.Dir = hostPath(c.WorkingDir, list)
		_ = os.MkdirAll(cmd.Dir, 0o755)
	}
	var tail tailBuffer
	cmd.Stdout = io.MultiWriter(logFile, &tail)
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 127, err.Error()
	}
	h.mu.Lock()
	h.procs[pod.Name] = cmd.Process
	h.mu.Unlock()
	err = cmd.Wait()
	h.mu.Lock()
	delete(h.procs, pod.Name)
	h.mu.Unlock()
	if err == nil {
		return 0, ""
	}
	if exit, ok := err.(*exec.ExitError); ok {
		code := exit.ExitCode()
		if status, ok := exit.Sys().(syscall.WaitStatus); ok && status.Signaled() {
			code = 128 + int(status.Signal())
		}
		return int32(code), tail.String()
	}
	return 1, err.Error()
}

func (h *harness) killAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.procs {
		_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	}
}

func unwrapEmissary(command []string) []string {
	if len(command) > 1 && strings.HasSuffix(command[0], "/argoexec") && command[1] == "emissary" {
		for i, arg := range command {
			if arg == "--" {
				return command[i+1:]
			}
		}
	}
	return command
}

func lookup(env []string, name string) string {
	for _, e := range env {
		if strings.HasPrefix(e, name+"=") {
			return e[len(name)+1:]
		}
	}
	return ""
}

// env resolves the container's env list as the kubelet does (values may refer to earlier ones).
func (h *harness) env(ctx context.Context, pod *apiv1.Pod, c apiv1.Container) ([]string, error) {
	vars := map[string]string{}
	var env []string
	for _, from := range c.EnvFrom {
		data := map[string]string{}
		switch {
		case from.SecretRef != nil:
			secret, err := h.controller.kubeclientset.CoreV1().Secrets(h.namespace).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("envFrom secret %s: %v (seed it with --seed)", from.SecretRef.Name, err)
			}
			for k, v := range secret.Data {
				data[k] = string(v)
			}
		case from.ConfigMapRef != nil:
			cm, err := h.controller.kubeclientset.CoreV1().ConfigMaps(h.namespace).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("envFrom config map %s: %v (seed it with --seed)", from.ConfigMapRef.Name, err)
			}
			data = cm.Data
		}
		for k, v := range data {
			vars[from.Prefix+k] = v
			env = append(env, from.Prefix+k+"="+v)
		}
	}
	for _, e := range c.Env {
		value := expand(e.Value, vars)
		if e.ValueFrom != nil {
			var err error
			switch f := e.ValueFrom; {
			case f.SecretKeyRef != nil:
				value, err = h.secretKey(ctx, f.SecretKeyRef.Name, f.SecretKeyRef.Key)
				if err != nil && f.SecretKeyRef.Optional != nil && *f.SecretKeyRef.Optional {
					continue
				}
			case f.ConfigMapKeyRef != nil:
				value, err = h.configMapKey(ctx, f.ConfigMapKeyRef.Name, f.ConfigMapKeyRef.Key)
				if err != nil && f.ConfigMapKeyRef.Optional != nil && *f.ConfigMapKeyRef.Optional {
					continue
				}
			case f.FieldRef != nil:
				value = fieldRef(pod, f.FieldRef.FieldPath)
			default:
				value = ""
			}
			if err != nil {
				return nil, fmt.Errorf("env %s: %v", e.Name, err)
			}
		}
		vars[e.Name] = value
		env = append(env, e.Name+"="+value)
	}
	return env, nil
}

func fieldRef(pod *apiv1.Pod, path string) string {
	switch {
	case path == "metadata.name":
		return pod.Name
	case path == "metadata.namespace":
		return pod.Namespace
	case path == "metadata.uid":
		return string(pod.UID)
	case path == "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName
	case path == "spec.nodeName", path == "status.hostIP":
		return "localhost"
	case path == "status.podIP":
		return "127.0.0.1"
	case strings.HasPrefix(path, "metadata.annotations['"):
		return pod.Annotations[strings.TrimSuffix(strings.TrimPrefix(path, "metadata.annotations['"), "']")]
	case strings.HasPrefix(path, "metadata.labels['"):
		return pod.Labels[strings.TrimSuffix(strings.TrimPrefix(path, "metadata.labels['"), "']")]
	}
	return ""
}

// expand is Kubernetes' $(VAR) expansion of env values, command and args: $(NAME) of a defined
// variable becomes its value, $$ becomes $, anything else stays as written.
func expand(text string, vars map[string]string) string {
	if !strings.Contains(text, "$") {
		return text
	}
	var out strings.Builder
	for i := 0; i < len(text); i++ {
		if text[i] != '$' || i+1 >= len(text) {
			out.WriteByte(text[i])
			continue
		}
		switch text[i+1] {
		case '$':
			out.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(text[i+2:], ')')
			if end < 0 {
				out.WriteString(text[i:])
				return out.String()
			}
			name := text[i+2 : i+2+end]
			if value, ok := vars[name]; ok {
				out.WriteString(value)
			} else {
				out.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			out.WriteByte('$')
		}
	}
	return out.String()
}

// collectOutputs reads every output parameter from its valueFrom.path, as Argo's executor does
// (valueFrom.default when the file is missing); it is an executor error when one is missing after
// a successful main container.
func collectOutputs(tmpl *wfv1.Template, list []mount, succeeded bool) (*wfv1.Outputs, string) {
	outputs := &wfv1.Outputs{}
	for _, p := range tmpl.Outputs.Parameters {
		if p.ValueFrom == nil || p.ValueFrom.Path == "" {
			continue
		}
		data, err := os.ReadFile(hostPath(p.ValueFrom.Path, list))
		param := wfv1.Parameter{Name: p.Name}
		switch {
		case err == nil:
			param.Value = wfv1.AnyStringPtr(string(data))
		case p.ValueFrom.Default != nil:
			param.Value = p.ValueFrom.Default
		case succeeded:
			return outputs, fmt.Sprintf("failed to get output parameter %s from %s: %v", p.Name, p.ValueFrom.Path, err)
		default:
			continue
		}
		outputs.Parameters = append(outputs.Parameters, param)
	}
	return outputs, ""
}

type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if t.buf.Len() > 8192 {
		t.buf.Next(t.buf.Len() - 4096)
	}
	return len(p), nil
}

// String is the last non-empty output line (the container's termination message, shortened).
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(t.buf.String()), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if len(last) > 400 {
		last = last[:400]
	}
	return last
}
