/** Routing brain, Envoy ext_proc service and activity tracking for the data plane (issue 5). */
package sh.navix.agentbox.extproc;
