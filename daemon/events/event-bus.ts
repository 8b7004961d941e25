import { outsideTerm } from "../leader/fence-context.ts";
import type { EventPayloads, EventType, OverseerEvent } from "./catalogue.ts";

export type EventSink = (event: OverseerEvent) => void;

/**
 * Fans each event out to every sink. A sink that throws is reported through `onSinkError` and
 * never stops the others or the caller: telemetry must not break the work it describes.
 */
export class EventBus {
  private readonly sinks = new Set<EventSink>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly onSinkError: (error: unknown, event: OverseerEvent) => void = () => {},
  ) {}

  /** Adds a sink; returns a function that removes it. */
  subscribe(sink: EventSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  /** Emits one event to every sink, stamped with the bus clock. */
  emit<K extends EventType>(type: K, payload: EventPayloads[K]): void {
    const event = { type, at: this.now(), ...payload } as unknown as OverseerEvent;
    // Sinks react to what happened; what they start is not part of a leader pass that emitted it.
    outsideTerm(() => {
      for (const sink of this.sinks) {
        try {
          sink(event);
        } catch (error) {
          this.onSinkError(error, event);
        }
      }
    });
  }
}
