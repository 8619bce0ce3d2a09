import type { ControllerEvent } from '../types';
import { clock, describeEvent, eventTone } from '../words';

export function Events(props: { events: ControllerEvent[] }) {
  const recent = props.events.slice(-80).reverse();
  return (
    <section class="panel events" aria-labelledby="events-title">
      <h2 id="events-title">What the controller did</h2>
      {recent.length === 0 ? (
        <p class="small">No events yet.</p>
      ) : (
        <ol class="event-list" data-testid="events">
          {recent.map((e) => (
            <li key={`${e.at}-${e.type}-${e.service}-${e.region}`} class={`tone-${eventTone(e.type)}`}>
              <time dateTime={e.at}>{clock(e.at)}</time> {describeEvent(e)}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
