// kfp-driver's Argo harness: outcomes back to the controller the Argo way, and the result document.
package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	apiv1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argoproj/argo-workflows/v3/pkg/apis/workflow"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
)

func (h *harness) setPhase(ctx context.Context, pod *apiv1.Pod, phase apiv1.PodPhase) {
	pod.Status.Phase = phase
	pods := h.controller.kubeclientset.CoreV1().Pods(h.namespace)
	if updated, err := pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err == nil {
		_ = h.controller.PodController.TestingPodInformer().GetStore().Update(updated)
	}
}

// report plays Argo's wait container (a WorkflowTaskResult with the outputs, marked complete) and
// the kubelet (the pod's phase and container statuses), then waits until the informers see both.
func (h *harness) report(ctx context.Context, r podResult) error {
	nodeID := r.pod.Annotations[common.AnnotationKeyNodeID]
	phase := wfv1.NodeSucceeded
	if r.exitCode != 0 {
		phase = wfv1.NodeFailed
	} else if r.waitErr != "" {
		phase = wfv1.NodeError
	}
	outputs := r.outputs
	if outputs == nil {
		outputs = &wfv1.Outputs{}
	}
	exitCode := fmt.Sprint(r.exitCode)
	outputs.ExitCode = &exitCode
	result := &wfv1.WorkflowTaskResult{
		TypeMeta: metav1.TypeMeta{APIVersion: workflow.APIVersion, Kind: workflow.WorkflowTaskResultKind},
		ObjectMeta: metav1.ObjectMeta{Name: nodeID, Namespace: h.namespace, Labels: map[string]string{
			common.LabelKeyWorkflow:               r.pod.Labels[common.LabelKeyWorkflow],
			common.LabelKeyReportOutputsCompleted: "true",
		}},
		NodeResult: wfv1.NodeResult{Phase: phase, Outputs: outputs},
	}
	results := h.controller.wfclientset.ArgoprojV1alpha1().WorkflowTaskResults(h.namespace)
	if _, err := results.Create(ctx, result, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("task result %s: %v", nodeID, err)
	}
	pod := r.pod
	now := metav1.Now()
	terminated := func(name string, code int32, message string) apiv1.ContainerStatus {
		reason := "Completed"
		if code != 0 {
			reason = "Error"
		}
		return apiv1.ContainerStatus{Name: name, State: apiv1.ContainerState{Terminated: &apiv1.ContainerStateTerminated{
			ExitCode: code, Reason: reason, Message: message, FinishedAt: now}}}
	}
	pod.Status.InitContainerStatuses = nil
	for _, c := range pod.Spec.InitContainers {
		pod.Status.InitContainerStatuses = append(pod.Status.InitContainerStatuses, terminated(c.Name, 0, ""))
	}
	pod.Status.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		switch c.Name {
		case common.WaitContainerName:
			code := int32(0)
			if r.waitErr != "" {
				code = 1
			}
			pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, terminated(c.Name, code, r.waitErr))
		default:
			pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, terminated(c.Name, r.exitCode, r.message))
		}
	}
	pod.Status.Phase = apiv1.PodSucceeded
	if r.exitCode != 0 || r.waitErr != "" {
		pod.Status.Phase = apiv1.PodFailed
	}
	updated, err := h.controller.kubeclientset.CoreV1().Pods(h.namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("pod %s: %v", pod.Name, err)
	}
	if err := h.controller.PodController.TestingPodInformer().GetStore().Update(updated); err != nil {
		return err
	}
	key := h.namespace + "/" + nodeID
	for i := 0; i < 500; i++ {
		if _, ok, _ := h.controller.taskResultInformer.GetIndexer().GetByKey(key); ok {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("task result %s never reached the controller's informer", nodeID)
}

// ---- the result document -----------------------------------------------------------------------

type paramJSON struct {
	Name  string  `json:"name"`
	Value *string `json:"value"`
}

type nodeJSON struct {
	ID           string                 `json:"id"`
	Name         string                 `json:"name"`
	DisplayName  string                 `json:"displayName"`
	TemplateName string                 `json:"templateName"`
	Type         string                 `json:"type"`
	Phase        string                 `json:"phase"`
	Message      string                 `json:"message"`
	BoundaryID   string                 `json:"boundaryID"`
	Children     []string               `json:"children"`
	Inputs       map[string][]paramJSON `json:"inputs"`
	Outputs      map[string][]paramJSON `json:"outputs"`
	ExitCode     *string                `json:"exitCode"`
	PodName      string                 `json:"podName"`
	StartedAt    string                 `json:"startedAt"`
	FinishedAt   string                 `json:"finishedAt"`
}

func params(list []wfv1.Parameter) map[string][]paramJSON {
	out := map[string][]paramJSON{"parameters": {}}
	for _, p := range list {
		var value *string
		if p.Value != nil {
			s := p.Value.String()
			value = &s
		}
		out["parameters"] = append(out["parameters"], paramJSON{p.Name, value})
	}
	return out
}

func timestamp(t metav1.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func writeResult(wf *wfv1.Workflow, podNames map[string]string, timedOut, stalled bool) error {
	nodes := []nodeJSON{}
	for _, n := range wf.Status.Nodes {
		node := nodeJSON{ID: n.ID, Name: n.Name, DisplayName: n.DisplayName, TemplateName: n.TemplateName,
			Type: string(n.Type), Phase: string(n.Phase), Message: n.Message, BoundaryID: n.BoundaryID,
			Children: n.Children, Inputs: params(nil), Outputs: params(nil), PodName: podNames[n.ID],
			StartedAt: timestamp(n.StartedAt), FinishedAt: timestamp(n.FinishedAt)}
		if node.Children == nil {
			node.Children = []string{}
		}
		if n.Inputs != nil {
			node.Inputs = params(n.Inputs.Parameters)
		}
		if n.Outputs != nil {
			node.Outputs = params(n.Outputs.Parameters)
			node.ExitCode = n.Outputs.ExitCode
		}
		nodes = append(nodes, node)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	doc := map[string]interface{}{
		"name": wf.Name, "uid": string(wf.UID), "phase": string(wf.Status.Phase), "message": wf.Status.Message,
		"startedAt": timestamp(wf.Status.StartedAt), "finishedAt": timestamp(wf.Status.FinishedAt),
		"timedOut": timedOut, "stalled": stalled, "nodes": nodes,
	}
	data, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return err
	}
	if *kfpOut == "" {
		_, err = os.Stdout.Write(append(data, '\n'))
		return err
	}
	return os.WriteFile(*kfpOut, append(data, '\n'), 0o644)
}
