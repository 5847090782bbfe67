// Demo mode: the inbox starts with a few mails (so `demo --backfill` has something to report), and mail keeps
// arriving by itself (first after about a second, then every few seconds), with realistic subjects and senders
// (accents, CJK, emoji), and now and then a read, a move or a delete.

import type { MailInput, MailboxChange, Person, SimItem } from './types.js';

const SENDERS: readonly Person[] = [
  { name: 'Megan Bowen', address: 'megan.bowen@contoso.com' },
  { name: 'José Álvarez', address: 'jose.alvarez@fabrikam.com' },
  { name: 'Zoë Müller', address: 'zoe.mueller@contoso.de' },
  { name: '李娜', address: 'li.na@northwindtraders.cn' },
  { name: 'Adele Vance', address: 'adele.vance@contoso.com' },
  { name: 'François Dupont', address: 'f.dupont@tailspintoys.fr' },
  { name: 'GitHub', address: 'noreply@github.com' },
  { name: 'IT Service Desk', address: 'servicedesk@contoso.com' },
  { name: '山田 太郎', address: 'taro.yamada@adventure-works.jp' },
  { name: 'Søren Kierkegaard', address: 'soren.k@woodgrovebank.dk' },
];

const SUBJECTS: readonly string[] = [
  'Quarterly report Q3 — final numbers',
  'Re: Deployment window tonight',
  'Réunion budget : révision finale',
  '会議の議事録（第3四半期）',
  '🎉 Team lunch on Friday',
  'Invoice #48213 from Fabrikam',
  'Grüße aus München – Präsentation anbei',
  '[ews-watch] Pull request #42 merged',
  'Your password expires in 5 days',
  'FW: Customer escalation — ticket 7734',
  '项目进度更新',
  'Lunch? 🍜',
  'Reminder: 1:1 tomorrow at 10:00',
  'Ñandú update: shipping ETA changed',
];

/** A demo mail chosen by `random` (0 ≤ r < 1). */
export function pickDemoMail(random: () => number): MailInput {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length) % list.length]!;
  return { subject: pick(SUBJECTS), from: pick(SENDERS) };
}

export interface DemoDeps {
  intervalMs: number;
  random: () => number;
  deliverMail(mail: MailInput): MailboxChange;
  markRead(itemId: string): MailboxChange;
  moveItem(itemId: string, folder: string): MailboxChange;
  deleteItem(itemId: string): MailboxChange;
  inbox(): SimItem[];
  log(line: string): void;
}

/** How many mails the demo's inbox holds at start; the first DEMO_SEED_READ of them are read. */
export const DEMO_SEED_MAILS = 4;
export const DEMO_SEED_READ = 2;

/** Fills the inbox before anyone watches (no subscription sees these: a first run takes them as its baseline). */
export function seedDemo(deps: Pick<DemoDeps, 'random' | 'deliverMail' | 'markRead'>): void {
  for (let i = 0; i < DEMO_SEED_MAILS; i++) {
    const { item } = deps.deliverMail(pickDemoMail(deps.random));
    if (item && i < DEMO_SEED_READ) deps.markRead(item.id);
  }
}

/** One demo tick: a new mail, then perhaps one more action on an older inbox item. */
export function demoTick(deps: DemoDeps): void {
  const older = deps.inbox();
  const mail = pickDemoMail(deps.random);
  deps.deliverMail(mail);
  deps.log(`demo: new mail "${mail.subject}" from ${mail.from.name}`);
  if (older.length === 0) return;
  const roll = deps.random();
  const target = older[Math.floor(deps.random() * older.length) % older.length]!;
  if (roll < 0.3 && !target.isRead) deps.markRead(target.id);
  else if (roll < 0.42) deps.moveItem(target.id, 'Archive');
  else if (roll < 0.5) deps.deleteItem(target.id);
}

export function startDemo(deps: DemoDeps): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const schedule = (ms: number): void => {
    timer = setTimeout(() => {
      demoTick(deps);
      schedule(deps.intervalMs * (0.6 + 0.8 * deps.random()));
    }, ms);
  };
  schedule(1000);
  return { stop: () => clearTimeout(timer) };
}
