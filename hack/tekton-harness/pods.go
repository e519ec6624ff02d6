package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// podRunner runs the pods the TaskRun reconciler creates, a few at a time, and reports each
// pod's end back into the fake cluster the way the kubelet would: phase and container states,
// with each container's termination message.
type podRunner struct {
	ctx      context.Context
	kube     kubernetes.Interface
	cfg      Config
	log      *zap.SugaredLogger
	started  map[string]bool
	slots    chan struct{}
	finished chan string
	active   atomic.Int32
	group    sync.WaitGroup
	shim     string
}

func newPodRunner(ctx context.Context, kube kubernetes.Interface, cfg Config, log *zap.SugaredLogger) *podRunner {
	r := &podRunner{ctx: ctx, kube: kube, cfg: cfg, log: log, started: map[string]bool{},
		slots: make(chan struct{}, max(cfg.Parallelism, 1)), finished: make(chan string, 4096)}
	r.shim = r.launcherShim()
	return r
}

// startNew starts every pod that has not run yet.
func (r *podRunner) startNew(namespace string) error {
	pods, err := r.kube.CoreV1().Pods(namespace).List(r.ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range pods.Items {
		pod := pods.Items[i].DeepCopy()
		if r.started[pod.Name] || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		r.started[pod.Name] = true
		r.active.Add(1)
		r.group.Add(1)
		go r.run(pod)
	}
	return nil
}

func (r *podRunner) running() int { return int(r.active.Load()) }

// waitForOne blocks until a pod finishes (or the timeout passes).
func (r *podRunner) waitForOne(timeout time.Duration) {
	select {
	case <-r.finished:
	case <-time.After(timeout):
	}
}

func (r *podRunner) wait() { r.group.Wait() }

func (r *podRunner) run(pod *corev1.Pod) {
	defer r.group.Done()
	r.slots <- struct{}{}
	status := r.execute(pod)
	<-r.slots
	if err := r.report(pod, status); err != nil {
		r.log.Errorw("updating pod status", "pod", pod.Name, "error", err)
	}
	r.active.Add(-1)
	select { // a wake-up for waitForOne; one pending is enough
	case r.finished <- pod.Name:
	default:
	}
}

// execute runs the pod's step containers in order and returns the pod's final status.
func (r *podRunner) execute(pod *corev1.Pod) corev1.PodStatus {
	start := metav1.Now()
	status := corev1.PodStatus{Phase: corev1.PodSucceeded, StartTime: &start}
	fs, err := newPodFS(r.ctx, r.kube, r.cfg.Workdir, pod, r.shim)
	if err != nil {
		return failedPod(status, pod, err)
	}
	for _, init := range pod.Spec.InitContainers {
		if err := fs.runInit(init); err != nil {
			return failedPod(status, pod, fmt.Errorf("init container %s: %w", init.Name, err))
		}
	}
	for _, c := range pod.Spec.Containers {
		state := fs.runStep(c, r.cfg.Launcher, pod.Labels["tekton.dev/taskRun"])
		status.ContainerStatuses = append(status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "docker-pullable://" + c.Image,
			State: corev1.ContainerState{Terminated: state}})
		if state.ExitCode != 0 {
			status.Phase = corev1.PodFailed
		}
	}
	return status
}

func failedPod(status corev1.PodStatus, pod *corev1.Pod, err error) corev1.PodStatus {
	fmt.Fprintf(os.Stderr, "pod %s: %v\n", pod.Name, err)
	now := metav1.Now()
	status.Phase = corev1.PodFailed
	status.Message = err.Error()
	for _, c := range pod.Spec.Containers {
		status.ContainerStatuses = append(status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error",
				StartedAt: now, FinishedAt: now}}})
	}
	return status
}

func (r *podRunner) report(pod *corev1.Pod, status corev1.PodStatus) error {
	current, err := r.kube.CoreV1().Pods(pod.Namespace).Get(r.ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	current.Status = status
	_, err = r.kube.CoreV1().Pods(pod.Namespace).UpdateStatus(r.ctx, current, metav1.UpdateOptions{})
	return err
}

// launcherShim is the launcher "image file" (/usr/local/bin/kfp-launcher): a script that runs
// the caller's launcher command, so a step that copies the launcher into a volume copies this.
func (r *podRunner) launcherShim() string {
	path := filepath.Join(r.cfg.Workdir, "image", "kfp-launcher")
	quoted := make([]string, len(r.cfg.Launcher))
	for i, word := range r.cfg.Launcher {
		quoted[i] = "'" + strings.ReplaceAll(word, "'", `'\''`) + "'"
	}
	script := "#!/bin/sh\nexec " + strings.Join(quoted, " ") + ` "$@"` + "\n"
	_ = os.MkdirAll(filepath.Dir(path), 0o755)
	_ = os.WriteFile(path, []byte(script), 0o755)
	return path
}
