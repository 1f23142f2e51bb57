/**
 * The web console's one page: HTML, CSS and script in a single string, so it is part of the
 * firmware image itself (no CDN, no file beside it). It polls /api/stats every two seconds and
 * draws throughput in and out and pool slots in use as moving charts (from the differences
 * between polls), the TCP connections with state and queues, the drop counters by name, every
 * counter `stats` shows, uptime and the image's SHA-256. Kept small: the whole page and its
 * first JSON must load in under 2 s at 115200 baud (bench: web_console_load_ms_115200).
 */

export const CONSOLE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>slipstack</title><link rel="icon" href="data:,">
<style>
body{font:14px system-ui,sans-serif;margin:1em;color:#222}h1{font-size:1.3em;margin:0}h2{font-size:1em;margin:1em 0 .3em}
.row{display:flex;flex-wrap:wrap;gap:1.5em}canvas{border:1px solid #ccc;width:360px;height:120px}
table{border-collapse:collapse}td,th{padding:1px 8px;text-align:left;border-bottom:1px solid #eee}
td.n{text-align:right;font-family:monospace}.k{color:#666}#e{color:#b00}code{font-size:12px}
.in{color:#2a7}.out{color:#c52}
</style></head><body>
<h1>slipstack <span id="ver"></span></h1>
<div class="k">up <b id="up">-</b> &middot; <span id="ifc"></span> &middot; updates <b id="n">0</b> <span id="e"></span></div>
<div class="row">
<div><h2>Throughput, octets/s (<span class="in">in</span> <b id="rin">0</b>, <span class="out">out</span> <b id="rout">0</b>)</h2><canvas id="thr" width="360" height="120"></canvas></div>
<div><h2>Pool slots in use (<b id="pu">0</b> of <b id="ps">0</b>, max <b id="pm">0</b>)</h2><canvas id="pool" width="360" height="120"></canvas></div>
</div>
<h2>TCP connections (<span id="tu"></span>)</h2>
<table id="conns"><thead><tr><th>Local</th><th>Remote</th><th>State</th><th>Recv-Q</th><th>Send-Q</th></tr></thead><tbody></tbody></table>
<h2>Drops</h2><table id="drops"><tbody></tbody></table>
<h2>Counters</h2><table id="stats"><tbody></tbody></table>
<p class="k">image sha256 <code id="sha"></code></p>
<script>
const $=(i)=>document.getElementById(i),H=90,hist={i:[],o:[],p:[]};let last=null,n=0;
function flat(o,p,out){for(const k in o){const v=o[k];if(typeof v==='number')out.push([p+k,v]);else if(v&&typeof v==='object')flat(v,p+k+'.',out)}return out}
function up(ms){const s=Math.floor(ms/1e3),d=Math.floor(s/86400),t=[Math.floor(s%86400/3600),Math.floor(s%3600/60),s%60].map((x)=>String(x).padStart(2,'0')).join(':');return(d?d+'d ':'')+t}
function push(a,v){a.push(v);if(a.length>H)a.shift()}
function chart(c,series,colors,top){const g=c.getContext('2d'),w=c.width,h=c.height;g.clearRect(0,0,w,h);
let m=top||1;for(const s of series)for(const v of s)if(v>m)m=v;g.fillStyle='#888';g.font='10px sans-serif';g.fillText(String(Math.round(m)),2,10);
series.forEach((s,k)=>{g.strokeStyle=colors[k];g.lineWidth=1.5;g.beginPath();s.forEach((v,i)=>{const x=w-(s.length-1-i)*(w/(H-1)),y=h-1-(v/m)*(h-14);i?g.lineTo(x,y):g.moveTo(x,y)});g.stroke()})}
function rows(tb,list){tb.innerHTML='';for(const r of list){const tr=tb.insertRow();r.forEach((v,i)=>{const td=tr.insertCell();td.textContent=v;if(typeof v==='number'){td.className='n'}if(i===1&&r.k)td.dataset.k=r.k})}}
const DROP=/drop|err|Full|noPort|noSocket|Overflow|bad|tooBig|rateLimited|runt|oversize|Oversize|badEscape|timeouts|lockouts|failures|Rsts|memerr/;
function render(s){const L=s.stats.link||{},up_=s.uptimeMs;
if(last&&up_>last.t){const dt=(up_-last.t)/1e3;push(hist.i,((L.rxBytes||0)-last.rx)/dt);push(hist.o,((L.txBytes||0)-last.tx)/dt)}
last={t:up_,rx:L.rxBytes||0,tx:L.txBytes||0};push(hist.p,s.pool.used);
$('ver').textContent=s.version;$('sha').textContent=s.sha256;$('up').textContent=up(up_);$('n').textContent=++n;
const f=s.ifconfig;$('ifc').textContent=f.name+' '+f.address+' peer '+(f.peer||'-')+' mtu '+f.mtu+' mss '+f.mss;
$('rin').textContent=Math.round(hist.i[hist.i.length-1]||0);$('rout').textContent=Math.round(hist.o[hist.o.length-1]||0);
$('pu').textContent=s.pool.used;$('ps').textContent=s.pool.slots;$('pm').textContent=s.pool.max;
chart($('thr'),[hist.i,hist.o],['#2a7','#c52']);chart($('pool'),[hist.p],['#36c'],s.pool.slots);
$('tu').textContent=s.pool.tcp.used+' of '+s.pool.tcp.sockets+' sockets, listening on '+s.netstat.listen.join(' ');
rows($('conns').tBodies[0],s.netstat.sockets.map((c)=>[c.local,c.remote,c.state,c.recvQ,c.sendQ]));
const all=flat(s.stats,'',[]),keyed=(l)=>l.map(([k,v])=>{const r=[k,v];r.k=k;return r});
rows($('drops').tBodies[0],keyed(all.filter(([k])=>DROP.test(k.split('.').pop()))));rows($('stats').tBodies[0],keyed(all))}
async function tick(){try{const r=await fetch('api/stats',{cache:'no-store'});if(!r.ok)throw new Error('HTTP '+r.status);render(await r.json());$('e').textContent=''}catch(x){$('e').textContent='(no answer: '+x.message+')'}setTimeout(tick,2e3)}
tick();
</script></body></html>
`;
