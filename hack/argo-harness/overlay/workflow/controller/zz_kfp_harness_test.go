// kfp-driver's Argo harness: runs one Workflow on Argo's real workflow controller, in-process.
//
// build.py copies the pinned argo-workflows module from the Go module cache, drops the zz_kfp_*
// files into workflow/controller/ and builds that package's test binary, so the harness can use Argo's
// own unexported test helpers (newController: fake typed, dynamic and metadata clientsets, a dummy
// artifact repository, no archive). The harness calls the operate loop until the workflow completes
// and plays kubelet and Argo executor for every pod the controller creates: it runs the main
// container's real command as a local process (unwrapping Argo's emissary wrapper; the launcher
// path maps to -kfp.launcher), with the container's env ($(VAR) expanded as Kubernetes does) and
// its volumes mapped to per-pod or per-claim directories, then reports the pod phase and exit code,
// and the outputs as a WorkflowTaskResult with each output parameter read from valueFrom.path.
//
// Run: <binary> -test.run '^TestKfpHarness$' -kfp.manifest WF.yaml -kfp.workdir DIR -kfp.out OUT.json
package controller

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	log "github.com/sirupsen/logrus"
	apiv1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/argoproj/argo-workflows/v3/pkg/apis/workflow"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
)

var (
	kfpManifest    = flag.String("kfp.manifest", "", "Workflow manifest (YAML or JSON)")
	kfpWorkdir     = flag.String("kfp.workdir", "", "directory for pod and claim directories")
	kfpLauncher    = flag.String("kfp.launcher", "", "JSON list: the command that replaces /kfp/kfp-launcher")
	kfpSeed        = flag.String("kfp.seed", "", "YAML/JSON Secrets and ConfigMaps to create first (a List, a list, or documents)")
	kfpOut         = flag.String("kfp.out", "", "where to write the result JSON (default: stdout)")
	kfpParallelism = flag.Int("kfp.parallelism", runtime.NumCPU(), "pods run at once")
	kfpTimeout     = flag.Duration("kfp.timeout", 30*time.Minute, "give up after this long")
	kfpStall       = flag.Duration("kfp.stall", 10*time.Second, "give up when nothing changes for this long with no pod running")
)

const launcherPath = "/kfp/kfp-launcher"

// podResult is what the local "kubelet" reports when a pod's main container has exited.
type podResult struct {
	pod      *apiv1.Pod
	exitCode int32
	message  string // main container termination message
	waitErr  string // the executor's own failure (output collection)
	outputs  *wfv1.Outputs
}

type harness struct {
	controller *WorkflowController
	namespace  string
	workdir    string
	launcher   []string
	slots      chan struct{}
	done       chan podResult
	mu         sync.Mutex
	procs      map[string]*os.Process
	podNames   map[string]string // node ID -> pod name
}

func TestKfpHarness(t *testing.T) {
	if *kfpManifest == "" {
		t.Skip("no -kfp.manifest given")
	}
	log.SetLevel(log.ErrorLevel)
	if err := runHarness(); err != nil {
		fmt.Fprintf(os.Stderr, "argo-harness: %v\n", err)
		os.Exit(2)
	}
}

func runHarness() error {
	wf, err := readWorkflow(*kfpManifest)
	if err != nil {
		return err
	}
	var launcher []string
	if *kfpLauncher != "" {
		if err := json.Unmarshal([]byte(*kfpLauncher), &launcher); err != nil || len(launcher) == 0 {
			return fmt.Errorf("-kfp.launcher must be a non-empty JSON list of strings: %q", *kfpLauncher)
		}
	}
	workdir, err := filepath.Abs(*kfpWorkdir)
	if err != nil || *kfpWorkdir == "" {
		return fmt.Errorf("-kfp.workdir is required")
	}
	seeds, err := readSeeds(*kfpSeed)
	if err != nil {
		return err
	}
	cancel, controller := newController(wf)
	defer cancel()
	// the test controller's event recorder is a channel of 64 that nothing reads: the 65th event
	// (a node phase change) would block the controller forever, so drain it
	if manager, ok := controller.eventRecorderManager.(*testEventRecorderManager); ok {
		go func() {
			for range manager.eventRecorder.Events {
			}
		}()
	}
	ctx := context.Background()
	h := &harness{controller: controller, namespace: wf.Namespace, workdir: workdir, launcher: launcher,
		slots: make(chan struct{}, max(1, *kfpParallelism)), done: make(chan podResult, 1024),
		procs: map[string]*os.Process{}, podNames: map[string]string{}}
	for _, seed := range seeds {
		if err := h.seed(ctx, seed); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(*kfpTimeout)
	started := map[string]bool{}
	running := 0
	woc := newWorkflowOperationCtx(wf, controller)
	woc.operate(ctx)
	timedOut, stalled := false, false
	lastState, lastChange := "", time.Now()
	for !(woc.wf.Status.Phase.Completed() && running == 0) {
		if time.Now().After(deadline) {
			timedOut = true
			h.killAll()
			break
		}
		if state := workflowProgress(woc.wf); state != lastState || running > 0 {
			lastState, lastChange = state, time.Now()
		} else if time.Since(lastChange) > *kfpStall {
			stalled = true // e.g. a DAG task whose reference never resolves: Argo requeues it forever
			break
		}
		pods, err := controller.kubeclientset.CoreV1().Pods(wf.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for i := range pods.Items {
			pod := pods.Items[i]
			if started[pod.Name] || pod.Status.Phase == apiv1.PodSucceeded || pod.Status.Phase == apiv1.PodFailed {
				continue
			}
			started[pod.Name] = true
			h.podNames[pod.Annotations[common.AnnotationKeyNodeID]] = pod.Name
			running++
			fresh := pod.DeepCopy()
			h.setPhase(ctx, fresh, apiv1.PodPending) // a kubelet's first word: the controller never sees ""
			go h.runPod(ctx, fresh)
		}
		var finished []podResult
		select {
		case r := <-h.done:
			finished = append(finished, r)
		case <-time.After(100 * time.Millisecond):
		}
	drain:
		for {
			select {
			case r := <-h.done:
				finished = append(finished, r)
			default:
				break drain
			}
		}
		for _, r := range finished {
			running--
			if err := h.report(ctx, r); err != nil {
				return err
			}
		}
		woc = newWorkflowOperationCtx(woc.wf, controller)
		woc.operate(ctx)
	}
	return writeResult(woc.wf, h.podNames, timedOut, stalled)
}

// workflowProgress summarises what can change: every node's phase, and whether a retry is backing off.
func workflowProgress(wf *wfv1.Workflow) string {
	var parts []string
	for id, n := range wf.Status.Nodes {
		parts = append(parts, id+"="+string(n.Phase))
		if n.Type == wfv1.NodeTypeRetry && n.Phase == wfv1.NodeRunning {
			parts = append(parts, time.Now().String()) // waiting for a backoff is progress
		}
	}
	sort.Strings(parts)
	return string(wf.Status.Phase) + ":" + strings.Join(parts, ",")
}

func readWorkflow(path string) (*wfv1.Workflow, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	wf := &wfv1.Workflow{}
	if err := yaml.UnmarshalStrict(data, wf); err != nil {
		return nil, fmt.Errorf("%s: not a Workflow: %v", path, err)
	}
	if wf.Kind != workflow.WorkflowKind {
		return nil, fmt.Errorf("%s: kind is %q, expected Workflow", path, wf.Kind)
	}
	if wf.Name == "" {
		wf.Name = wf.GenerateName + "local"
		if wf.GenerateName == "" {
			wf.Name = "workflow"
		}
	}
	if wf.Namespace == "" {
		wf.Namespace = "default"
	}
	wf.UID = types.UID(uuid.NewString())
	return wf, nil
}

// readSeeds accepts a Kubernetes List, a JSON/YAML list, or '---'-separated documents.
func readSeeds(path string) ([]map[string]interface{}, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var objects []map[string]interface{}
	for _, doc := range strings.Split("\n"+string(data), "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var value interface{}
		if err := yaml.Unmarshal([]byte(doc), &value); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		switch v := value.(type) {
		case []interface{}:
			for _, item := range v {
				if m, ok := item.(map[string]interface{}); ok {
					objects = append(objects, m)
				}
			}
		case map[string]interface{}:
			if items, ok := v["items"].([]interface{}); ok && v["kind"] == "List" {
				for _, item := range items {
					if m, ok := item.(map[string]interface{}); ok {
						objects = append(objects, m)
					}
				}
			} else {
				objects = append(objects, v)
			}
		}
	}
	return objects, nil
}

func (h *harness) seed(ctx context.Context, object map[string]interface{}) error {
	data, _ := json.Marshal(object)
	core := h.controller.kubeclientset.CoreV1()
	switch object["kind"] {
	case "Secret":
		secret := &apiv1.Secret{}
		if err := json.Unmarshal(data, secret); err != nil {
			return fmt.Errorf("seed Secret: %v", err)
		}
		if secret.Namespace == "" {
			secret.Namespace = h.namespace
		}
		for k, v := range secret.StringData {
			if secret.Data == nil {
				secret.Data = map[string][]byte{}
			}
			secret.Data[k] = []byte(v)
		}
		_, err := core.Secrets(secret.Namespace).Create(ctx, secret, metav1.CreateOptions{})
		return err
	case "ConfigMap":
		cm := &apiv1.ConfigMap{}
		if err := json.Unmarshal(data, cm); err != nil {
			return fmt.Errorf("seed ConfigMap: %v", err)
		}
		if cm.Namespace == "" {
			cm.Namespace = h.namespace
		}
		_, err := core.ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{})
		return err
	}
	return fmt.Errorf("seed: unsupported kind %v (Secret and ConfigMap only)", object["kind"])
}
